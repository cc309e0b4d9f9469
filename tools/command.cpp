#include "tools/command.h"

#include <algorithm>
#include <stdexcept>

namespace ff::tools {
namespace {

// "bench ops" -> {"bench", "ops"}
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(' ', start);
    if (end == std::string::npos) end = path.size();
    words.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string& word : words)
    if (word.empty()) throw std::logic_error("command path \"" + path + "\": words must be separated by one space");
  return words;
}

std::string parent_path(const std::vector<std::string>& words) {
  std::string parent;
  for (size_t i = 0; i + 1 < words.size(); ++i) parent += (i ? " " : "") + words[i];
  return parent;
}

}  // namespace

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;  // function-local: safe to use from other files' static initialisers
  return commands;
}

CommandRegistrar::CommandRegistrar(Command command) { command_registry().push_back(std::move(command)); }

CommandTree::CommandTree(CLI::App& root) : root_(root) {
  std::vector<const Command*> ordered;
  for (const Command& command : command_registry()) ordered.push_back(&command);
  // Parents before children, whatever order the files registered in; by name within a level for --help.
  std::sort(ordered.begin(), ordered.end(), [](const Command* a, const Command* b) {
    auto depth = [](const Command* c) { return std::count(c->path.begin(), c->path.end(), ' '); };
    return std::make_pair(depth(a), a->path) < std::make_pair(depth(b), b->path);
  });

  std::map<std::string, CLI::App*> groups{{"", &root}};
  std::map<std::string, bool> seen;
  for (const Command* command : ordered) {
    std::vector<std::string> words = split_path(command->path);
    if (seen[command->path]) throw std::logic_error("command \"" + command->path + "\" is registered twice");
    seen[command->path] = true;
    std::string parent = parent_path(words);
    auto found = groups.find(parent);
    if (found == groups.end())
      throw std::logic_error("command \"" + command->path + "\" needs the group \"" + parent +
                             "\", which is not registered");
    CLI::App* app = found->second->add_subcommand(words.back(), command->description);
    if (command->is_group()) {
      app->require_subcommand(1);
      groups[command->path] = app;
    } else {
      actions_[app] = command->setup(*app);
    }
  }
}

void CommandTree::run_selected() const {
  const CLI::App* app = &root_;
  // Follow the parsed subcommands down to the leaf; groups require exactly one, so the path is unique.
  while (true) {
    std::vector<CLI::App*> chosen = app->get_subcommands();  // the ones given on the command line
    if (chosen.empty()) break;
    app = chosen.front();
  }
  auto action = actions_.find(app);
  if (action == actions_.end() || !action->second)
    throw std::logic_error("no command to run for \"" + app->get_name() + "\"");
  action->second();
}

void run_command(const std::string& path, const std::vector<std::string>& args) {
  auto& registry = command_registry();
  auto found = std::find_if(registry.begin(), registry.end(), [&](const Command& c) { return c.path == path; });
  if (found == registry.end() || found->is_group()) throw std::logic_error("no command \"" + path + "\" to run");
  CLI::App app{found->description, "fewerframes " + path};
  CommandAction action = found->setup(app);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    throw std::invalid_argument("fewerframes " + path + ": " + error.what());
  }
  action();
}

}  // namespace ff::tools
