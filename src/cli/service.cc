// `snug service install | uninstall | status | logs`: snug serve as a service that survives
// reboots — a systemd unit on Linux (system-wide, or --user), a launchd plist on macOS
// (LaunchAgent, or LaunchDaemon with --system). install takes every serve flag and writes them
// to the config file the service runs with (`snug serve --config FILE`). --root DIR writes under
// DIR and runs nothing (tests, packaging); --dry-run prints what would be written and run.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/serve_flags.h"
#include "cli/service_files.h"
#include "memory/size.h"

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

namespace snug::cli {
namespace {

namespace fs = std::filesystem;

struct ServiceFlags {
  bool user = false;     // systemd --user (Linux)
  bool system = false;   // a LaunchDaemon (macOS)
  bool dry_run = false;
  std::string root;      // write under this folder, run nothing
  std::string platform;  // "linux" or "macos": which files (default: this machine's)
  std::string run_as;    // system services: this user instead of a dynamic one
  bool follow = false;   // logs -f
  int lines = 100;       // logs -n
};

// Where everything goes, as the running service sees it (without --root).
struct ServiceLayout {
  ServiceSpec spec;
  std::string unit_path;  // the unit or the plist
  std::string config_dir;
  std::string log_dir;    // launchd only
};

bool IsMac(const ServiceFlags& flags) {
  if (!flags.platform.empty()) return flags.platform == "macos";
#if defined(__APPLE__)
  return true;
#else
  return false;
#endif
}

std::string Home() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "/";
}

std::string SelfPath() {
#if defined(__APPLE__)
  char buffer[4096];
  uint32_t size = sizeof(buffer);
  if (_NSGetExecutablePath(buffer, &size) == 0) return fs::weakly_canonical(buffer).string();
  return "/usr/local/bin/snug";
#else
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? "/usr/local/bin/snug" : self.string();
#endif
}

// "systemd 252 (252.39-1~deb12u2)" -> 252; 0 when systemctl is not there.
int SystemdVersion() {
  FILE* pipe = popen("systemctl --version 2>/dev/null", "r");
  if (pipe == nullptr) return 0;
  int version = 0;
  if (std::fscanf(pipe, "systemd %d", &version) != 1) version = 0;
  pclose(pipe);
  return version;
}

ServiceLayout Layout(const ServiceFlags& flags) {
  ServiceLayout layout;
  ServiceSpec& spec = layout.spec;
  spec.user = IsMac(flags) ? !flags.system : flags.user;
  spec.run_as = flags.run_as;
  // A LaunchDaemon runs as root unless told otherwise: default to the user behind sudo.
  if (IsMac(flags) && !spec.user && spec.run_as.empty()) {
    const char* sudo_user = std::getenv("SUDO_USER");
    if (sudo_user != nullptr) spec.run_as = sudo_user;
  }
  if (IsMac(flags)) {
    spec.platform = ServicePlatform::kLaunchd;
    spec.label = "dev.snug.serve";
    if (spec.user) {
      layout.unit_path = Home() + "/Library/LaunchAgents/" + spec.label + ".plist";
      layout.config_dir = Home() + "/Library/Application Support/snug";
      layout.log_dir = Home() + "/Library/Logs/snug";
    } else {
      layout.unit_path = "/Library/LaunchDaemons/" + spec.label + ".plist";
      layout.config_dir = "/usr/local/etc/snug";
      layout.log_dir = "/usr/local/var/log/snug";
    }
    spec.log_path = layout.log_dir + "/snug.log";
    spec.working_directory = layout.config_dir;
  } else {
    spec.platform = ServicePlatform::kSystemd;
    spec.label = "snug";
    if (spec.user) {
      layout.unit_path = Home() + "/.config/systemd/user/snug.service";
      layout.config_dir = Home() + "/.config/snug";
    } else {
      layout.unit_path = "/etc/systemd/system/snug.service";
      layout.config_dir = "/etc/snug";
    }
  }
  spec.config_path = layout.config_dir + "/snug.toml";
  return layout;
}

// `path` under --root.
std::string Rooted(const ServiceFlags& flags, const std::string& path) {
  return flags.root.empty() ? path : (fs::path(flags.root) / fs::path(path).relative_path()).string();
}

// The commands that make the service manager pick the files up (or forget them).
std::vector<std::vector<std::string>> ActivateCommands(const ServiceLayout& layout, bool install) {
  const ServiceSpec& spec = layout.spec;
  if (spec.platform == ServicePlatform::kSystemd) {
    std::vector<std::string> systemctl = {"systemctl"};
    if (spec.user) systemctl.push_back("--user");
    auto with = [&](std::vector<std::string> tail) {
      std::vector<std::string> command = systemctl;
      command.insert(command.end(), tail.begin(), tail.end());
      return command;
    };
    if (install) return {with({"daemon-reload"}), with({"enable", "--now", "snug.service"})};
    return {with({"disable", "--now", "snug.service"}), with({"daemon-reload"})};
  }
  const std::string domain = spec.user ? "gui/" + std::to_string(getuid()) : "system";
  if (install) return {{"launchctl", "bootstrap", domain, layout.unit_path}};
  return {{"launchctl", "bootout", domain + "/" + spec.label}};
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) {
    const bool quote = word.find_first_of(" \"'$") != std::string::npos;
    out += (out.empty() ? "" : " ") + (quote ? "'" + word + "'" : word);
  }
  return out;
}

int RunCommand(const std::vector<std::string>& words) {
  std::fprintf(stderr, "snug service: running %s\n", Joined(words).c_str());
  const pid_t child = fork();
  if (child == 0) {
    std::vector<char*> argv;
    for (const std::string& word : words) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "snug service: cannot run %s\n", argv[0]);
    _exit(127);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) < 0) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) return Unavailable("service: cannot create " + fs::path(path).parent_path().string() +
                                ": " + error.message());
  std::ofstream file(path, std::ios::trunc);
  file << text;
  file.close();
  if (!file) return Unavailable("service: cannot write " + path);
  if (chmod(path.c_str(), mode) != 0) return Unavailable("service: cannot chmod " + path);
  return Status::Ok();
}

// Others (a dynamic user) can read `path`: the file and every folder above it.
bool WorldReadable(const fs::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || (info.st_mode & S_IROTH) == 0) return false;
  for (fs::path dir = path.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    if (stat(dir.c_str(), &info) != 0 || (info.st_mode & S_IXOTH) == 0) return false;
  }
  return true;
}

struct Planned {
  std::string path;
  std::string text;
  mode_t mode;
};

int Install(const ServiceFlags& flags, CommandConfig& config) {
  if (Status applied = config.Apply(); !applied.ok()) {
    std::fprintf(stderr, "snug service: %s\n", applied.message().c_str());
    return 2;
  }
  if (config.print_requested()) {
    std::fputs(config.Render(/*defaults=*/true).c_str(), stdout);
    return 0;
  }
  const std::vector<std::string> model = config.GivenValues("model");
  if (model.empty()) {
    std::fprintf(stderr, "snug service install: no model: give MODEL (or --config FILE)\n");
    return 2;
  }
  std::error_code error;
  const fs::path model_path = fs::weakly_canonical(fs::absolute(model.back()), error);
  if (!fs::is_regular_file(model_path)) {
    std::fprintf(stderr, "snug service install: '%s' is not a model file\n", model.back().c_str());
    return 1;
  }
  ServiceLayout layout = Layout(flags);
  ServiceSpec& spec = layout.spec;
  spec.snug_path = SelfPath();
  spec.description = "snug: OpenAI-compatible server for " + model_path.filename().string();
  spec.systemd_version = SystemdVersion();
  if (auto memory = config.GivenValues("memory"); !memory.empty()) {
    auto bytes = memory::ParseSize(memory.back());
    if (!bytes.ok()) {
      std::fprintf(stderr, "snug service install: --memory: %s\n", bytes.status().message().c_str());
      return 2;
    }
    spec.memory_max_bytes = ServiceMemoryMax(*bytes);
  } else if (spec.platform == ServicePlatform::kSystemd) {
    std::fprintf(stderr, "snug service install: no --memory: the service gets no MemoryMax and "
                         "snug plans for the machine's memory\n");
  }
  if (auto port = config.GivenValues("port"); !port.empty()) spec.port = std::atoi(port.back().c_str());
  if (auto mlock = config.GivenValues("mlock"); !mlock.empty()) spec.lock_memory = mlock.back() == "true";
  if (auto grace = config.GivenValues("shutdown-grace"); !grace.empty()) {
    spec.stop_timeout_seconds = std::atoi(grace.back().c_str()) + 20;
  }

  std::map<std::string, std::vector<std::string>> replace = {{"model", {model_path.string()}}};
  for (const char* key : {"api-key-file", "log-file"}) {
    if (auto given = config.GivenValues(key); !given.empty()) {
      replace[key] = {fs::absolute(given.back()).string()};
    }
  }
  // launchd only appends: snug itself rotates the log it writes there.
  if (spec.platform == ServicePlatform::kLaunchd && config.GivenValues("log-file").empty()) {
    replace["log-file"] = {spec.log_path};
  }
  std::vector<Planned> files;
  const auto api_key = config.GivenValues("api-key");
  const std::string header = std::string("# ") + kServiceMarker +
                             "; `snug service uninstall` removes it.\n# The settings of `snug "
                             "serve --config` (see `snug serve --print-config`).\n";
  mode_t config_mode = 0644;
  if (!api_key.empty()) {
    if (spec.platform == ServicePlatform::kSystemd && !spec.user) {
      // Kept out of the world-readable config: a root-only file the unit passes as a credential.
      spec.api_key_path = layout.config_dir + "/api-key";
      replace["api-key"] = {};
      files.push_back({spec.api_key_path, api_key.back() + "\n", 0600});
    } else {
      config_mode = 0600;  // the service runs as this user, who alone reads it
    }
  }
  files.insert(files.begin(), {spec.config_path, header + config.Render(false, replace), config_mode});
  files.push_back({layout.unit_path,
                   spec.platform == ServicePlatform::kSystemd ? SystemdUnit(spec) : LaunchdPlist(spec),
                   0644});

  if (spec.platform == ServicePlatform::kSystemd && !spec.user && spec.run_as.empty() &&
      !WorldReadable(model_path)) {
    std::fprintf(stderr, "snug service install: warning: the service runs as a dynamic user that "
                         "cannot read %s (move it somewhere world-readable, e.g. /var/lib/snug, "
                         "or pass --run-as USER)\n", model_path.c_str());
  }
  if (flags.dry_run) {
    for (const Planned& file : files) {
      std::printf("### %s (mode %03o)\n%s\n", Rooted(flags, file.path).c_str(), file.mode,
                  file.text.c_str());
    }
    if (flags.root.empty()) {
      for (const auto& command : ActivateCommands(layout, true)) std::printf("$ %s\n", Joined(command).c_str());
    }
    return 0;
  }
  if (spec.platform == ServicePlatform::kLaunchd) {
    fs::create_directories(Rooted(flags, layout.log_dir), error);
  }
  for (const Planned& file : files) {
    if (Status written = WriteFile(Rooted(flags, file.path), file.text, file.mode); !written.ok()) {
      std::fprintf(stderr, "snug service install: %s%s\n", written.message().c_str(),
                   getuid() != 0 && !spec.user && flags.root.empty() ? " (run it with sudo)" : "");
      return 1;
    }
    std::fprintf(stderr, "snug service: wrote %s\n", Rooted(flags, file.path).c_str());
  }
  if (!flags.root.empty()) return 0;
  for (const auto& command : ActivateCommands(layout, true)) {
    if (RunCommand(command) != 0) return 1;
  }
  return 0;
}

int Uninstall(const ServiceFlags& flags) {
  const ServiceLayout layout = Layout(flags);
  std::vector<std::string> paths = {layout.unit_path, layout.spec.config_path,
                                    layout.config_dir + "/api-key"};
  if (flags.dry_run) {
    if (flags.root.empty()) {
      for (const auto& command : ActivateCommands(layout, false)) std::printf("$ %s\n", Joined(command).c_str());
    }
    for (const std::string& path : paths) std::printf("rm %s\n", Rooted(flags, path).c_str());
    return 0;
  }
  if (flags.root.empty()) {
    for (const auto& command : ActivateCommands(layout, false)) RunCommand(command);
  }
  int removed = 0;
  for (const std::string& path : paths) {
    const std::string rooted = Rooted(flags, path);
    std::ifstream file(rooted);
    if (!file) continue;
    std::stringstream text;
    text << file.rdbuf();
    // Only what install wrote (the key file is install's by its place beside the config).
    if (text.str().find(kServiceMarker) == std::string::npos && path != paths.back()) {
      std::fprintf(stderr, "snug service: leaving %s: snug did not write it\n", rooted.c_str());
      continue;
    }
    std::error_code error;
    if (fs::remove(rooted, error)) {
      std::fprintf(stderr, "snug service: removed %s\n", rooted.c_str());
      ++removed;
    }
  }
  if (removed == 0) std::fprintf(stderr, "snug service: nothing was installed\n");
  return 0;
}

// status and logs hand over to the service manager's own tools.
int Inspect(const ServiceFlags& flags, bool logs) {
  const ServiceLayout layout = Layout(flags);
  const ServiceSpec& spec = layout.spec;
  std::vector<std::string> command;
  if (spec.platform == ServicePlatform::kSystemd) {
    if (logs) {
      command = {"journalctl", spec.user ? "--user-unit" : "--unit", "snug.service", "-n",
                 std::to_string(flags.lines), "--no-pager"};
      if (flags.follow) command.push_back("-f");
    } else {
      command = {"systemctl"};
      if (spec.user) command.push_back("--user");
      command.insert(command.end(), {"status", "snug.service", "--no-pager"});
    }
  } else if (logs) {
    command = {"tail", "-n", std::to_string(flags.lines)};
    if (flags.follow) command.push_back("-F");
    command.push_back(spec.log_path);
  } else {
    command = {"launchctl", "print",
               (spec.user ? "gui/" + std::to_string(getuid()) : std::string("system")) + "/" +
                   spec.label};
  }
  if (flags.dry_run) {
    std::printf("$ %s\n", Joined(command).c_str());
    return 0;
  }
  return RunCommand(command);
}

void AddPlacementFlags(CLI::App& command, ServiceFlags& flags) {
  command.add_flag("--user", flags.user, "Linux: a systemd --user service (default: system-wide)")
      ->configurable(false);
  command.add_flag("--system", flags.system, "macOS: a LaunchDaemon (default: a LaunchAgent)")
      ->configurable(false);
  command.add_option("--platform", flags.platform, "Which files: linux or macos (default: this "
                     "machine's)")
      ->check(CLI::IsMember({"linux", "macos"}))
      ->configurable(false);
  command.add_option("--root", flags.root, "Write under this folder and run nothing")
      ->configurable(false);
  command.add_flag("--dry-run", flags.dry_run, "Print what would be written and run")
      ->configurable(false);
}

}  // namespace

void AddServiceCommand(CLI::App& app, int& exit_code) {
  CLI::App* service = app.add_subcommand(
      "service", "Run snug serve as a service: systemd (Linux) or launchd (macOS)");
  service->require_subcommand(1);
  auto flags = std::make_shared<ServiceFlags>();

  CLI::App* install = service->add_subcommand(
      "install", "Write the config file and the service (takes every serve flag), and start it");
  // The flags write into `serve_options`: it must live as long as the parser.
  std::shared_ptr<ServeOptions> serve_options = AddServeFlags(*install);
  std::shared_ptr<CommandConfig> config = CommandConfig::Attach(*install);
  AddPlacementFlags(*install, *flags);
  install->add_option("--run-as", flags->run_as,
                      "System service: run as this user (default: a dynamic user on Linux)")
      ->configurable(false);
  install->callback([flags, config, serve_options, &exit_code] {
    exit_code = Install(*flags, *config);
  });

  CLI::App* uninstall = service->add_subcommand("uninstall", "Stop the service, remove its files");
  AddPlacementFlags(*uninstall, *flags);
  uninstall->callback([flags, &exit_code] { exit_code = Uninstall(*flags); });

  CLI::App* status = service->add_subcommand("status", "The service's state (systemctl/launchctl)");
  AddPlacementFlags(*status, *flags);
  status->callback([flags, &exit_code] { exit_code = Inspect(*flags, false); });

  CLI::App* logs = service->add_subcommand("logs", "The service's log (journal / log file)");
  AddPlacementFlags(*logs, *flags);
  logs->add_flag("-f,--follow", flags->follow, "Keep printing new lines");
  logs->add_option("-n,--lines", flags->lines, "Lines to show")->capture_default_str();
  logs->callback([flags, &exit_code] { exit_code = Inspect(*flags, true); });
}

}  // namespace snug::cli
