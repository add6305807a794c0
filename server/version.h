#pragma once
namespace simplead::server {
inline constexpr const char* kVersion = "0.1.0";
}
