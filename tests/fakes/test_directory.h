// A backend Directory for unit tests: a data dir under a TempDir, the
// schema of SIMPLEAD_SCHEMA_DIR, and test-speed settings (no fsync, a 1 MiB
// single-pass Argon2id). Only for tests that link the server backend.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lib/base/clock.h"
#include "server/backend/directory.h"

namespace simplead::testing {

// Options for a directory under `data_dir`; callers set what their test is about.
inline backend::DirectoryOptions FastDirectoryOptions(const std::string& data_dir, std::string suffix,
                                                      bool ad_mode) {
  backend::DirectoryOptions options;
  options.store.path = data_dir + "/db";
  options.store.sync_writes = false;
  options.suffix = std::move(suffix);
  options.ad_mode = ad_mode;
  options.hash_params.argon2_memory_kib = 1024;
  options.hash_params.argon2_iterations = 1;
  return options;
}

// Opens it; on failure the test fails and the result is null.
inline std::unique_ptr<backend::Directory> OpenTestDirectory(const backend::DirectoryOptions& options,
                                                            const Clock& clock) {
  auto schema = schema::Schema::LoadDirectory(SIMPLEAD_SCHEMA_DIR);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  if (!schema.ok()) return nullptr;
  auto directory = backend::Directory::Open(options, *schema, clock);
  EXPECT_TRUE(directory.ok()) << directory.status().ToString();
  return directory.ok() ? std::move(*directory) : nullptr;
}

}  // namespace simplead::testing
