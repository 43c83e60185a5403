#define BOOST_TEST_MODULE mapping_json
#include <boost/test/unit_test.hpp>
