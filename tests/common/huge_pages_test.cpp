// The huge-page hint for large buffers: it must leave the data as it was, and mark the memory so
// the kernel backs it with 2 MiB pages (the VMA's "hg" flag in /proc/self/smaps).
#include "common/huge_pages.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace vitsweep {
namespace {

// The VmFlags line of the mapping that holds `address`, or "" when none does.
std::string vm_flags_at(const void* address) {
  const auto target = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= target && target < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

bool has_huge_page_flag(const void* address) {
  std::istringstream flags(vm_flags_at(address));
  std::string flag;
  while (flags >> flag) {
    if (flag == "hg") return true;
  }
  return false;
}

constexpr size_t kEightMiB = size_t{8} << 20;

TEST(HugePages, ReserveKeepsTheContents) {
  std::vector<float> v(1000);
  std::iota(v.begin(), v.end(), 0.0f);
  const std::vector<float> before = v;
  reserve_in_huge_pages(v, kEightMiB / sizeof(float));
  EXPECT_GE(v.capacity(), kEightMiB / sizeof(float));
  EXPECT_EQ(v, before);
}

TEST(HugePages, EnoughCapacityLeavesTheVectorAlone) {
  std::vector<uint8_t> v(100, 7);
  const uint8_t* data = v.data();
  const size_t capacity = v.capacity();
  reserve_in_huge_pages(v, 50);
  EXPECT_EQ(v.data(), data);
  EXPECT_EQ(v.capacity(), capacity);
}

TEST(HugePages, ReservedStorageIsAdvisedAndPlainStorageIsNot) {
  if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled")) {
    GTEST_SKIP() << "this kernel has no transparent huge pages";
  }
  std::vector<uint8_t> advised;
  reserve_in_huge_pages(advised, kEightMiB);
  advised.resize(kEightMiB);
  // The middle of the buffer lies inside a whole 2 MiB page.
  EXPECT_TRUE(has_huge_page_flag(advised.data() + kEightMiB / 2)) << vm_flags_at(advised.data());
  // A fresh mapping of its own (not heap memory an earlier advice may have marked) has no flag.
  void* plain =
      mmap(nullptr, kEightMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(plain, MAP_FAILED);
  EXPECT_FALSE(has_huge_page_flag(static_cast<char*>(plain) + kEightMiB / 2)) << vm_flags_at(plain);
  munmap(plain, kEightMiB);
}

TEST(HugePages, RangesWithoutAWholeHugePageAreIgnored) {
  advise_huge_pages(nullptr, kEightMiB);
  std::vector<uint8_t> small(4096, 1);
  advise_huge_pages(small.data(), small.size());
  EXPECT_EQ(small, std::vector<uint8_t>(4096, 1));
}

}  // namespace
}  // namespace vitsweep
