#include "pipeline/group_writer.hpp"

#include <exception>
#include <string>

namespace iomt::pipeline {

boost::asio::awaitable<std::vector<group_result>> group_writer::write_all(
    std::span<const mapping::fhir::measurement_group* const> groups) {
  std::vector<group_result> results(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    std::string thrown;
    try {
      group_result r = co_await write(*groups[i]);
      results[i] = std::move(r);
      continue;
    } catch (const std::exception& e) {
      thrown = std::string("the FHIR writer threw: ") + e.what();
    } catch (...) {
      thrown = "the FHIR writer threw a non-standard exception";
    }
    // A bug, not the data's fault: the events wait and are retried (issue 12).
    results[i].errors.push_back({"UnhandledException", std::move(thrown), mapping::failure_class::transient});
  }
  co_return results;
}

}  // namespace iomt::pipeline
