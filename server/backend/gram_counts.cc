#include "server/backend/gram_counts.h"

namespace simplead::backend {

std::string GramCounts::Key(std::string_view attribute, std::string_view gram) {
  std::string key;
  key.reserve(attribute.size() + 1 + gram.size());
  key.append(attribute).push_back('\0');  // attribute names hold no NUL
  key.append(gram);
  return key;
}

std::optional<size_t> GramCounts::Find(std::string_view attribute, std::string_view gram) const {
  const std::string key = Key(attribute, gram);
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) return std::nullopt;
  return it->second;
}

void GramCounts::Record(std::string_view attribute, std::string_view gram, size_t count) {
  if (max_grams_ == 0) return;
  std::string key = Key(attribute, gram);
  std::lock_guard lock(mu_);
  if (counts_.size() >= max_grams_ && !counts_.contains(key)) counts_.clear();
  counts_[std::move(key)] = count;
}

size_t GramCounts::size() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

}  // namespace simplead::backend
