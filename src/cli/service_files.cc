// Renders the systemd unit and the launchd plist (see service_files.h).
#include "cli/service_files.h"

#include <algorithm>

namespace snug::cli {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// systemd splits ExecStart= on spaces and treats `\`, `"`, `'`, `%` and `$` specially.
std::string SystemdWord(const std::string& word) {
  std::string out;
  bool plain = !word.empty();
  for (const char c : word) {
    if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '\\') plain = false;
  }
  for (const char c : word) {
    if (c == '%') {
      out += "%%";
    } else if (c == '$') {
      out += "$$";
    } else if (!plain && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return plain ? out : "\"" + out + "\"";
}

std::string XmlText(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

int64_t ServiceMemoryMax(int64_t budget_bytes) {
  const int64_t margin = std::max<int64_t>(budget_bytes / 10, 256 * kMiB);
  return (budget_bytes + margin + kMiB - 1) / kMiB * kMiB;
}

std::string SystemdUnit(const ServiceSpec& spec) {
  std::string exec = SystemdWord(spec.snug_path) + " serve --config " +
                     SystemdWord(spec.config_path);
  const bool credential = !spec.user && !spec.api_key_path.empty();
  // A flag wins over the file: the key arrives as a credential only root and the service read.
  if (credential) exec += " --api-key-file ${CREDENTIALS_DIRECTORY}/api-key";

  std::string unit = std::string("# ") + kServiceMarker +
                     "; `snug service uninstall` removes it.\n"
                     "[Unit]\n"
                     "Description=" + spec.description + "\n"
                     "After=network-online.target\n"
                     "Wants=network-online.target\n"
                     // Never give up restarting; the back-off below spaces the attempts.
                     "StartLimitIntervalSec=0\n"
                     "\n"
                     "[Service]\n"
                     "Type=exec\n"
                     "ExecStart=" + exec + "\n";
  if (credential) unit += "LoadCredential=api-key:" + spec.api_key_path + "\n";
  // SIGTERM drains (running requests finish within --shutdown-grace), then exits 0.
  unit += "KillSignal=SIGTERM\n"
          "TimeoutStopSec=" + std::to_string(spec.stop_timeout_seconds) + "\n"
          "Restart=on-failure\n"
          "RestartSec=2s\n";
  if (spec.systemd_version >= 254) {
    unit += "RestartSteps=6\n"
            "RestartMaxDelaySec=2min\n";
  }
  // Logs: stderr to the journal (`snug service logs`).
  if (spec.memory_max_bytes > 0) {
    unit += "# The memory plan's budget + a margin: the kernel's limit and snug's plan agree.\n"
            "MemoryMax=" + std::to_string(spec.memory_max_bytes / kMiB) + "M\n"
            "MemorySwapMax=0\n";
  }
  unit += "LimitNOFILE=65536\n"
          "NoNewPrivileges=yes\n";
  if (spec.lock_memory) {
    unit += "# serve --mlock: the weights are locked in RAM (MemoryMax still bounds them).\n"
            "LimitMEMLOCK=infinity\n";
  }
  if (!spec.user) {
    // A user manager cannot switch users, and its sandboxing needs user namespaces that many
    // machines disable; a system service gets the whole set.
    if (spec.run_as.empty()) {
      unit += "DynamicUser=yes\n";
    } else {
      unit += "User=" + spec.run_as + "\n";
    }
    unit += "ProtectSystem=strict\n"
            "ProtectHome=read-only\n"
            "PrivateTmp=yes\n"
            "PrivateDevices=yes\n"
            "ProtectKernelTunables=yes\n"
            "ProtectKernelModules=yes\n"
            "ProtectKernelLogs=yes\n"
            "ProtectControlGroups=yes\n"
            "ProtectClock=yes\n"
            "ProtectHostname=yes\n"
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
            "RestrictNamespaces=yes\n"
            "RestrictRealtime=yes\n"
            "RestrictSUIDSGID=yes\n"
            "LockPersonality=yes\n"
            "MemoryDenyWriteExecute=yes\n"
            "SystemCallArchitectures=native\n"
            "UMask=0077\n";
    if (spec.port > 0 && spec.port < 1024) {
      unit += "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
              "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n";
    } else {
      unit += "CapabilityBoundingSet=\n";
    }
  }
  unit += "\n[Install]\n";
  unit += spec.user ? "WantedBy=default.target\n" : "WantedBy=multi-user.target\n";
  return unit;
}

std::string LaunchdPlist(const ServiceSpec& spec) {
  auto string = [](const std::string& text) { return "<string>" + XmlText(text) + "</string>"; };
  std::string plist =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<!-- " + std::string(kServiceMarker) + "; `snug service uninstall` removes it. -->\n"
      "<plist version=\"1.0\">\n"
      "<dict>\n"
      "  <key>Label</key>\n"
      "  " + string(spec.label) + "\n"
      "  <key>ProgramArguments</key>\n"
      "  <array>\n"
      "    " + string(spec.snug_path) + "\n"
      "    <string>serve</string>\n"
      "    <string>--config</string>\n"
      "    " + string(spec.config_path) + "\n"
      "  </array>\n"
      "  <key>RunAtLoad</key>\n"
      "  <true/>\n"
      // Restart when it exits with an error; launchd waits ThrottleInterval between starts.
      "  <key>KeepAlive</key>\n"
      "  <dict>\n"
      "    <key>SuccessfulExit</key>\n"
      "    <false/>\n"
      "  </dict>\n"
      "  <key>ThrottleInterval</key>\n"
      "  <integer>10</integer>\n"
      "  <key>ExitTimeOut</key>\n"
      "  <integer>" + std::to_string(spec.stop_timeout_seconds) + "</integer>\n"
      "  <key>ProcessType</key>\n"
      "  <string>Interactive</string>\n";
  if (!spec.working_directory.empty()) {
    plist += "  <key>WorkingDirectory</key>\n  " + string(spec.working_directory) + "\n";
  }
  if (!spec.user && !spec.run_as.empty()) {
    plist += "  <key>UserName</key>\n  " + string(spec.run_as) + "\n";
  }
  if (!spec.log_path.empty()) {
    plist += "  <key>StandardOutPath</key>\n  " + string(spec.log_path) + "\n" +
             "  <key>StandardErrorPath</key>\n  " + string(spec.log_path) + "\n";
  }
  plist += "</dict>\n</plist>\n";
  return plist;
}

}  // namespace snug::cli
