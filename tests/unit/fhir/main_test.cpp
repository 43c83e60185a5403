// Unit suites of fhir/ (sans-io parts: retry policy, token cache, search plumbing, references).
#define BOOST_TEST_MODULE fhir
#include <boost/test/unit_test.hpp>
