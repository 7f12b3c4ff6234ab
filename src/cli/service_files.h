// The files `snug service install` writes, as pure functions of what it decided: a systemd unit
// (Linux, system or --user) and a launchd property list (macOS, LaunchAgent or LaunchDaemon),
// each running `snug serve --config FILE`. Where they go and running systemctl/launchctl is
// service.cc's business; this file only renders text, so the tests check it byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace snug::cli {

enum class ServicePlatform { kSystemd, kLaunchd };

struct ServiceSpec {
  ServicePlatform platform = ServicePlatform::kSystemd;
  bool user = false;          // systemd --user / a LaunchAgent; else system-wide / LaunchDaemon
  std::string label;          // "snug" (systemd unit name) or "dev.snug.serve" (launchd Label)
  std::string description;    // one line: what is served
  std::string snug_path;      // absolute path of the binary
  std::string config_path;    // the config file, as the service sees it
  std::string api_key_path;   // systemd system services: a root-only file passed as a credential
  std::string run_as;         // system services: this user; empty: systemd's DynamicUser
  std::string working_directory;  // launchd: where the service starts
  std::string log_path;       // launchd: stdout/stderr before snug's own --log-file takes over
  int64_t memory_max_bytes = 0;   // systemd MemoryMax (the budget + a margin); 0: none
  bool lock_memory = false;       // serve --mlock: systemd LimitMEMLOCK=infinity
  int port = 8080;                // below 1024 needs CAP_NET_BIND_SERVICE
  int stop_timeout_seconds = 30;  // SIGTERM drains; then SIGKILL
  int systemd_version = 0;        // restart back-off keys need 254; 0: unknown (older keys only)
};

// MemoryMax for a budget: the plan already holds every tenant and a runtime margin, so the
// kernel's limit adds only what the plan does not see (allocator slack, the loader, stacks of
// short-lived threads): 10%, at least 256 MiB.
int64_t ServiceMemoryMax(int64_t budget_bytes);

// `[Unit]`, `[Service]` (restart with back-off, sandboxing, MemoryMax), `[Install]`.
std::string SystemdUnit(const ServiceSpec& spec);
// An XML property list that Apple's PropertyList-1.0 DTD accepts.
std::string LaunchdPlist(const ServiceSpec& spec);

// The first line of every file install writes: uninstall removes only files that carry it.
inline constexpr const char* kServiceMarker = "Written by `snug service install`";

}  // namespace snug::cli
