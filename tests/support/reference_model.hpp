// tests/support/reference_model.hpp - a deliberately simple oracle of what a
// page table should translate, written without any genpt algorithm.
//
// It keeps one std::map node per entry (va -> {oa, size_lg2, tag}) and
// re-states the library's contract in the plainest code possible:
//  * map splits a request greedily: at each va the largest size of the
//    page-size bitmap that va, oa and the remaining length allow; it fails
//    (changing nothing) when any existing entry overlaps the request;
//  * unmap removes whole entries from va on: nothing when va is inside an
//    entry; a last entry that reaches past the range is removed whole; it
//    stops at the first hole and returns the bytes removed.
// The tag is the test's own label for the attributes used (e.g. an index
// into a prot table), so leaves can be compared attribute-exactly.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <vector>

namespace genpt::test {

/// One translation the model holds.
struct model_entry {
  std::uint64_t va = 0;
  std::uint64_t oa = 0;
  unsigned size_lg2 = 0;
  unsigned tag = 0;
  friend bool operator==(const model_entry&, const model_entry&) = default;
};

class reference_model {
 public:
  /// The greedy split of [va, va + len) -> oa into pages of `sizes`
  /// (bit n: 2^n bytes). Empty when some piece fits no size.
  static std::vector<model_entry> split(std::uint64_t sizes, std::uint64_t va, std::uint64_t oa,
                                        std::uint64_t len, unsigned tag = 0) {
    std::vector<model_entry> out;
    std::uint64_t left = len;
    while (left != 0) {
      unsigned chosen = 64;
      for (unsigned s = 63; s > 0; --s) {
        if (!((sizes >> s) & 1)) continue;
        const std::uint64_t size = std::uint64_t{1} << s;
        if (va % size == 0 && oa % size == 0 && size <= left) {
          chosen = s;
          break;
        }
      }
      if (chosen == 64) return {};
      out.push_back({va, oa, chosen, tag});
      const std::uint64_t size = std::uint64_t{1} << chosen;
      va += size;
      oa += size;
      left -= size;
    }
    return out;
  }

  /// True when an entry overlaps [va, last].
  bool overlaps(std::uint64_t va, std::uint64_t last) const {
    auto it = entries_.upper_bound(last);
    if (it == entries_.begin()) return false;
    --it;
    return entry_last(it->second) >= va;
  }

  /// Maps like the library would; false (nothing changed) on overlap or
  /// when the request cannot be split.
  bool map(std::uint64_t sizes, std::uint64_t va, std::uint64_t oa, std::uint64_t len,
           unsigned tag = 0) {
    if (len == 0 || overlaps(va, va + (len - 1))) return false;
    const std::vector<model_entry> pieces = split(sizes, va, oa, len, tag);
    if (pieces.empty()) return false;
    for (const model_entry& e : pieces) entries_[e.va] = e;
    return true;
  }

  /// Unmaps like the library would; returns the bytes removed and appends
  /// the removed entries to `removed` when given.
  std::uint64_t unmap(std::uint64_t va, std::uint64_t len,
                      std::vector<model_entry>* removed = nullptr) {
    if (len == 0) return 0;
    const std::uint64_t last = va + (len - 1);
    if (last < va) return 0;
    std::uint64_t done = 0;
    std::uint64_t cur = va;
    for (;;) {
      const model_entry* e = find(cur);
      if (e == nullptr || e->va != cur) break;  // a hole, or inside an entry
      const model_entry copy = *e;
      entries_.erase(copy.va);
      if (removed) removed->push_back(copy);
      done += std::uint64_t{1} << copy.size_lg2;
      const std::uint64_t e_last = entry_last(copy);
      if (e_last >= last) break;
      cur = e_last + 1;
    }
    return done;
  }

  /// The oa of `va`, or nullopt.
  std::optional<std::uint64_t> translate(std::uint64_t va) const {
    const model_entry* e = find(va);
    if (!e) return std::nullopt;
    return e->oa + (va - e->va);
  }

  /// The entry holding `va`, or nullptr.
  const model_entry* find(std::uint64_t va) const {
    auto it = entries_.upper_bound(va);
    if (it == entries_.begin()) return nullptr;
    --it;
    return entry_last(it->second) >= va ? &it->second : nullptr;
  }

  /// The first entry at or after `va`, or nullptr.
  const model_entry* first_from(std::uint64_t va) const {
    auto it = entries_.lower_bound(va);
    return it == entries_.end() ? nullptr : &it->second;
  }

  /// Every entry, in va order.
  std::vector<model_entry> all() const {
    std::vector<model_entry> out;
    out.reserve(entries_.size());
    for (const auto& kv : entries_) out.push_back(kv.second);
    return out;
  }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  static std::uint64_t entry_last(const model_entry& e) {
    return e.va + ((std::uint64_t{1} << e.size_lg2) - 1);
  }

 private:
  std::map<std::uint64_t, model_entry> entries_;
};

}  // namespace genpt::test
