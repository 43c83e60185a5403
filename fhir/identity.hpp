// Identity resolution (iomt-spec §11): which Patient / Device / Encounter logical ids the
// Observations of a measurement group refer to. Modes Lookup (default), Create and
// LookupWithEncounter, with the per-DeviceId cache (sliding 2 h, 5000 entries; nothing cached on
// failure). The steps of one resolution are identity_flow's (sans-io, identity_flow.hpp); this
// driver sends them alone (resolve) or, for a whole flush, in batch Bundles (resolve_all).
//
// Errors (mapping_error types, handled = the group is dropped, §13.2):
//   FhirResourceNotFoundException (Device | Patient | Encounter; metric <Type>NotFoundException)
//   ResourceIdentityNotDefinedException (Patient in Create, Encounter in LookupWithEncounter)
//   MultipleResourceFoundException (metric Multiple<Type>FoundException)
//   PatientDeviceMismatchException
// and the client's errors (FhirClientException, HttpRequestException, ...), which are not.
#pragma once

#include "fhir/batch_exchange.hpp"
#include "fhir/client.hpp"
#include "fhir/identity_flow.hpp"
#include "fhir/request_exchange.hpp"
#include "fhir/ttl_cache.hpp"
#include "mapping/fhir/identity_ids.hpp"

#include <span>
#include <string>
#include <vector>

namespace iomt::fhir {

class identity_resolver {
public:
  identity_resolver(client& fhir, identity_options options)
      : client_(&fhir), options_(std::move(options)), cache_(options_.cache_capacity, options_.cache_ttl, true) {}
  // Without a client: only resolve_all, answered by the exchange it is given (memory_exchange).
  explicit identity_resolver(identity_options options)
      : options_(std::move(options)), cache_(options_.cache_capacity, options_.cache_ttl, true) {}

  // Cached per DeviceId: the first group seen for a device fixes its patient/encounter for the
  // cache lifetime (upstream behaviour; docs recommend one device per patient). Single requests
  // through the client (constructed with one).
  boost::asio::awaitable<mapping::result<mapping::fhir::resource_ids>> resolve(const identity_request& request);

  // The identities of a flush's groups, in order, as if resolve() were called for each in turn:
  // a device's later requests get its first success (the cache), and after a failure its next
  // request is resolved again (an equal request of that device gets the same error without asking
  // again). Meanwhile the resolutions of all devices advance together, one step per round, their
  // requests sent through `exchange` (batch Bundles where the server takes them; equal requests
  // of several devices, e.g. the search and create of their shared Patient, sent once).
  // Results parallel to `requests`; the requests (and what they view) must outlive the call.
  boost::asio::awaitable<std::vector<mapping::result<mapping::fhir::resource_ids>>> resolve_all(
      std::span<const identity_request> requests, request_exchange& exchange);

  void clear_cache() { cache_.clear(); }
  std::size_t cache_size() const noexcept { return cache_.size(); }

private:
  client* client_ = nullptr;
  identity_options options_;
  ttl_cache<mapping::fhir::resource_ids> cache_;
};

}  // namespace iomt::fhir
