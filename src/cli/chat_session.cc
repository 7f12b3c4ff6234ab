// `snug run MODEL` without a prompt: the interactive chat. Each turn sends the whole conversation
// (the engine's prefix cache skips what it already holds). Ctrl-C while an answer streams stops
// that answer and returns to the prompt with the conversation kept; Ctrl-C at an empty prompt,
// or Ctrl-D, quits. Empty lines are ignored; a pasted block is one turn; /help lists commands.
// /image and /audio attach media to the next message; the conversation keeps them (each turn
// resends them, and the prefix cache, keyed by their hash, skips what it already holds).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/line_editor.h"
#include "cli/media_files.h"
#include "cli/run.h"

namespace snug::cli {
namespace {

constexpr char kHelp[] =
    "  /help          this list\n"
    "  /reset         forget the conversation (the system prompt stays)\n"
    "  /system TEXT   set the system prompt (empty: none) and start over\n"
    "  /save FILE     write the conversation as JSON messages (OpenAI's shape)\n"
    "  /image PATH    attach an image to your next message (a model that takes images)\n"
    "  /audio PATH    attach an audio clip to your next message\n"
    "  /quit          leave (also Ctrl-D, or Ctrl-C at an empty prompt)\n"
    "  Ctrl-C while an answer streams stops it; the conversation is kept.\n";

struct Conversation {
  std::string system;
  std::vector<tokenizer::ChatMessage> turns;  // user and assistant, alternating
  std::vector<MediaInput> media;              // every turn's images and audio, in order
  std::vector<MediaFile> attached;            // for the next user turn (/image, /audio)

  void Forget() {
    turns.clear();
    media.clear();
    attached.clear();
  }
  // The user's line with what was attached before it (media first, as --image puts them).
  tokenizer::ChatMessage UserTurn(const std::string& line) const {
    tokenizer::ChatMessage turn{"user", line};
    if (attached.empty()) return turn;
    for (const MediaFile& file : attached) turn.parts.push_back(file.part);
    turn.parts.push_back({.type = tokenizer::ChatPartType::kText, .text = line});
    turn.content.clear();
    return turn;
  }

  std::vector<tokenizer::ChatMessage> Messages() const {
    std::vector<tokenizer::ChatMessage> messages;
    if (!system.empty()) messages.push_back({"system", system});
    messages.insert(messages.end(), turns.begin(), turns.end());
    return messages;
  }
};

bool Save(const Conversation& conversation, const std::string& path) {
  nlohmann::json messages = nlohmann::json::array();
  for (const tokenizer::ChatMessage& message : conversation.Messages()) {
    if (message.parts.empty()) {
      messages.push_back({{"role", message.role}, {"content", message.content}});
      continue;
    }
    // Media are saved as what they were (their soft tokens), not their data.
    nlohmann::json parts = nlohmann::json::array();
    for (const tokenizer::ChatPart& part : message.parts) {
      if (part.type == tokenizer::ChatPartType::kText) {
        parts.push_back({{"type", "text"}, {"text", part.text}});
      } else {
        parts.push_back({{"type", part.type == tokenizer::ChatPartType::kImage ? "image" : "audio"},
                         {"soft_tokens", part.soft_tokens}});
      }
    }
    messages.push_back({{"role", message.role}, {"content", std::move(parts)}});
  }
  std::ofstream file(path);
  file << messages.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return static_cast<bool>(file);
}

void Attach(const std::string& path, MediaKind kind, const RunSession& session,
            const RunOptions& options, Conversation& conversation) {
  if (path.empty()) {
    std::fputs(kind == MediaKind::kImage ? "/image needs a file name\n" : "/audio needs a file name\n",
               stderr);
    return;
  }
  Result<MediaFile> file =
      LoadMediaFile(path, kind, session.media_support(), options.image_tokens);
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", file.status().message().c_str());
    return;
  }
  std::fprintf(stderr, "(%s attached: %d soft tokens; it goes with your next message)\n",
               path.c_str(), file->part.soft_tokens);
  conversation.attached.push_back(std::move(*file));
}

// A /command; false: the chat ends.
bool Command(const std::string& line, const RunSession& session, const RunOptions& options,
             Conversation& conversation) {
  const size_t space = line.find(' ');
  const std::string name = line.substr(0, space);
  const std::string argument = space == std::string::npos ? "" : line.substr(space + 1);
  if (name == "/help" || name == "/?") {
    std::fputs(kHelp, stderr);
  } else if (name == "/quit" || name == "/exit" || name == "/bye") {
    return false;
  } else if (name == "/image" || name == "/audio") {
    Attach(argument, name == "/image" ? MediaKind::kImage : MediaKind::kAudio, session, options,
           conversation);
  } else if (name == "/reset") {
    conversation.Forget();
    std::fputs("(conversation forgotten)\n", stderr);
  } else if (name == "/system") {
    conversation.system = argument;
    conversation.Forget();
    std::fputs(argument.empty() ? "(no system prompt; conversation forgotten)\n"
                                : "(system prompt set; conversation forgotten)\n",
               stderr);
  } else if (name == "/save") {
    if (argument.empty()) {
      std::fputs("/save needs a file name\n", stderr);
    } else if (Save(conversation, argument)) {
      std::fprintf(stderr, "(saved %zu messages to %s)\n", conversation.Messages().size(),
                   argument.c_str());
    } else {
      std::fprintf(stderr, "cannot write %s\n", argument.c_str());
    }
  } else {
    std::fprintf(stderr, "unknown command %s; /help lists them\n", name.c_str());
  }
  return true;
}

}  // namespace

int Chat(RunSession& session, const RunOptions& options) {
  Conversation conversation{.system = options.system};
  for (const std::string& path : options.images) {
    Attach(path, MediaKind::kImage, session, options, conversation);
  }
  for (const std::string& path : options.audio) {
    Attach(path, MediaKind::kAudio, session, options, conversation);
  }
  InstallInterruptHandler();
  LineEditor editor("snug", stdin, stdout, stderr);
  std::fprintf(stderr,
               "snug: chatting with %s. /help for commands; Ctrl-C stops an answer; Ctrl-D "
               "quits.\n",
               options.model_path.c_str());
  std::string line;
  while (true) {
    switch (editor.Read("> ", line)) {
      case LineEditor::Outcome::kEnd:
        std::fputc('\n', stderr);
        return 0;
      case LineEditor::Outcome::kInterrupted:
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) return 0;
        continue;  // the typed line is discarded
      case LineEditor::Outcome::kLine:
        break;
    }
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    editor.AddHistory(line);
    if (line[0] == '/') {
      if (!Command(line, session, options, conversation)) return 0;
      continue;
    }
    conversation.turns.push_back(conversation.UserTurn(line));
    auto prompt = session.ChatPrompt(conversation.Messages());
    if (!prompt.ok()) {
      std::fprintf(stderr, "snug run: %s\n", prompt.status().message().c_str());
      conversation.turns.pop_back();
      continue;
    }
    std::vector<MediaInput> media = conversation.media;
    for (const MediaFile& file : conversation.attached) media.push_back(file.input);
    ClearInterrupt();
    RunSession::Answer answer = session.Generate(std::move(*prompt), /*chat=*/true, media);
    ClearInterrupt();
    if (!answer.ok) {
      conversation.turns.pop_back();  // the attachments wait for the next message
      continue;
    }
    conversation.media = std::move(media);
    conversation.attached.clear();
    // An interrupted answer stays as far as it went: it is what the user saw.
    conversation.turns.push_back({"assistant", answer.text});
  }
}

}  // namespace snug::cli
