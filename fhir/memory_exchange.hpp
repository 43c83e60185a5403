// FHIR resources in memory, answering the requests of identity resolution (request_exchange.hpp)
// as a FHIR server would: identifier searches (`{type}?identifier=[system|]value`) as searchset
// Bundles, PUTs stored with a meta.versionId (If-Match checked, 412 on a stale version).
//
// `iomtflow mapping test` and the designer resolve identities with it, through the same
// identity_resolver / identity_flow as `iomtflow run`:
//   - alone: the server's content is what --resources gave (Patients, Devices, Encounters), and
//     Create mode writes its Patients and Devices here;
//   - reading through a live server (--fhir-url): every search is sent to the server too and the
//     resources held here are laid over its answer (same id: ours); PUTs are never forwarded, so
//     what Create mode would write stays here and the server is only read.
// Sans-io apart from the read-through; one instance per test run, one thread.
#pragma once

#include "fhir/request_exchange.hpp"
#include "fhir/search.hpp"
#include "mapping/error.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::fhir {

// The resources a --resources file stands for: a FHIR Bundle (entry[].resource) or a JSON array of
// resources, each a Patient, Device or Encounter with an id. Errors name the entry at fault.
mapping::result<std::vector<boost::json::object>> read_resources(std::string_view json_text);

class memory_exchange final : public request_exchange {
public:
  // `read_through`: a live server's exchange that searches also go to (never a write); it must
  // outlive this object. nullptr: memory only.
  explicit memory_exchange(request_exchange* read_through = nullptr) : read_through_(read_through) {}

  // Adds (or replaces) a resource as the server's content; it needs resourceType and id. Keeps its
  // meta.versionId, else gives it "1".
  mapping::result<void> add(boost::json::object resource);

  boost::asio::awaitable<std::vector<entry_answer>> send(std::span<const plan_request> requests) override;
  boost::asio::awaitable<search_fold> complete_search(const plan_request& request, const entry_answer& answer) override;

  // The resources held here of one type, in order of first appearance.
  std::vector<const boost::json::object*> all_of(std::string_view type) const;
  // "Type/id" of every resource written by a PUT, in order of the writes (Create mode's creates
  // and links; what `run` would write to the server).
  const std::vector<std::string>& written() const noexcept { return written_; }
  // Searches sent to the live server (0 without one).
  std::size_t server_searches() const noexcept { return server_searches_; }

private:
  entry_answer search_here(const plan_request& request, std::vector<boost::json::object> from_server) const;
  entry_answer put_here(const plan_request& request);

  request_exchange* read_through_;
  std::map<std::string, std::size_t, std::less<>> index_;  // "Type/id" -> resources_ index
  std::vector<boost::json::object> resources_;             // in order of first appearance
  std::vector<std::string> written_;
  std::size_t server_searches_ = 0;
};

}  // namespace iomt::fhir
