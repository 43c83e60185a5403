// Partition key of the normalized hub (expected A24, iomt-spec §4).
#include "mapping/device/partition_hash.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

using iomt::mapping::device::hash_code;
using iomt::mapping::device::partition_hash;

BOOST_AUTO_TEST_SUITE(partition_key)

BOOST_AUTO_TEST_CASE(a24_upstream_values) {
  BOOST_TEST(hash_code("abba") == 32);
  BOOST_TEST(hash_code("aaabbb") == 191);
  BOOST_TEST(hash_code("bbbaaa") == 33);
  BOOST_TEST(hash_code("abcdefghijklmnopqrstuvwxyz") == 173);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const std::string long_text = alphabet + " " + alphabet + " " + alphabet;
  BOOST_TEST(long_text.size() == 158u);
  BOOST_TEST(hash_code(long_text) == 218);
  BOOST_TEST(partition_hash(long_text) == 218);  // lower-cased first: same bucket here
}

BOOST_AUTO_TEST_CASE(a24_range_must_be_positive) {
  BOOST_TEST(hash_code("test", 0) == -1);
  BOOST_TEST(hash_code("test", -1) == -1);
  BOOST_TEST(partition_hash("test", 0) == -1);
}

BOOST_AUTO_TEST_CASE(device_ids_are_lower_cased_and_hashed_as_utf16) {
  BOOST_TEST(partition_hash("ABBA") == 32);
  BOOST_TEST(partition_hash("AbBa") == hash_code("abba"));
  // "é" is one UTF-16 unit (0xE9); "É" lower-cases to it.
  BOOST_TEST(partition_hash("\xC3\x89") == hash_code("\xC3\xA9"));
  BOOST_TEST(hash_code("\xC3\xA9") == 0xE9 % 256);
  // U+1F600 is a surrogate pair: h = 31*0xD83D + 0xDE00.
  BOOST_TEST(hash_code("\xF0\x9F\x98\x80", 1 << 30) == (31 * 0xD83D + 0xDE00) % (1 << 30));
  BOOST_TEST(partition_hash("", 256) == 0);
}

// The partitioner of the pipeline's shards (pipeline::shard_of should be this).
BOOST_AUTO_TEST_CASE(shard_index_is_the_partition_over_the_shard_count) {
  using iomt::mapping::device::shard_index;
  BOOST_TEST(shard_index("anything", 0) == 0u);
  BOOST_TEST(shard_index("anything", 1) == 0u);
  for (std::size_t shards : {2u, 3u, 4u, 6u, 8u, 16u}) {
    std::vector<std::size_t> count(shards);
    constexpr int devices = 20000;
    for (int i = 0; i < devices; ++i) {
      const std::string id = "device-" + std::to_string(i);
      const std::size_t s = shard_index(id, shards);
      BOOST_TEST_REQUIRE(s < shards);
      BOOST_TEST_REQUIRE(s == static_cast<std::size_t>(partition_hash(id, static_cast<int>(shards))));
      BOOST_TEST_REQUIRE(shard_index("DEVICE-" + std::to_string(i), shards) == s);  // case-insensitive
      ++count[s];
    }
    // Even within 10% for sequential ids (measured: within 7.5% up to 16 shards).
    for (std::size_t c : count) BOOST_TEST(std::abs(static_cast<double>(c * shards) / devices - 1.0) < 0.10);
  }
  BOOST_TEST(shard_index("abba", 256) == 32u);  // upstream A24 value
}

BOOST_AUTO_TEST_SUITE_END()
