#define BOOST_TEST_MODULE mapping_fhir
#include <boost/test/unit_test.hpp>
