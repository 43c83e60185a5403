// Where the requests of identity resolution (identity.hpp) are answered: the interface between
// the sans-io identity core and the server that holds Patients, Devices and Encounters.
//   batch_exchange   a live FHIR server (batch Bundles or single requests): what `iomtflow run` uses
//   memory_exchange  resources in memory, optionally reading through a live server without ever
//                    writing to it: what `iomtflow mapping test` and the designer use
// Both answer the same plan_requests with the same entry_answers, so the identity rules (Lookup,
// Create, LookupWithEncounter, iomt-spec §11) exist once, in identity_flow, whichever answers.
#pragma once

#include "fhir/write_plan.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>
#include <vector>

namespace iomt::fhir {

class request_exchange {
public:
  virtual ~request_exchange() = default;

  // Completion: one final answer per request, in the order of `requests`; requests sharing a key
  // are answered in order (plan_rounds). Server and network errors are in the answers, never thrown.
  virtual boost::asio::awaitable<std::vector<entry_answer>> send(std::span<const plan_request> requests) = 0;

  // The complete result of a search request given its answer (following the server's pages).
  virtual boost::asio::awaitable<search_fold> complete_search(const plan_request& request,
                                                              const entry_answer& answer) = 0;
};

}  // namespace iomt::fhir
