// libedit behind the chat's prompt (see line_editor.h).
#include "cli/line_editor.h"

#include <unistd.h>

namespace snug::cli {
namespace {

// Terminals wrap pasted text in these once asked to (xterm's bracketed paste mode).
constexpr char kPasteStart[] = "\033[200~";
constexpr char kPasteEnd[] = "\033[201~";

LineEditor* Self(EditLine* editor) {
  void* self = nullptr;
  el_get(editor, EL_CLIENTDATA, &self);
  return static_cast<LineEditor*>(self);
}

}  // namespace

LineEditor::LineEditor(const char* program, FILE* in, FILE* out, FILE* err) : out_(out) {
  terminal_ = isatty(fileno(in)) && isatty(fileno(out));
  editor_ = el_init(program, in, out, err);
  history_ = history_init();
  HistEvent event;
  history(history_, &event, H_SETSIZE, 500);
  history(history_, &event, H_SETUNIQUE, 1);
  el_set(editor_, EL_CLIENTDATA, this);
  el_set(editor_, EL_EDITOR, "emacs");
  el_set(editor_, EL_HIST, history, history_);
  el_set(editor_, EL_PROMPT, &LineEditor::Prompt);
  // Ctrl-C is a key while a line is edited (not a signal): it discards the line. While an answer
  // streams, the terminal is back in its own mode and Ctrl-C is SIGINT again.
  el_set(editor_, EL_SETTY, "-d", "-isig", nullptr);
  el_set(editor_, EL_ADDFN, "snug-interrupt", "Discard the line (quit when empty)",
         &LineEditor::OnInterrupt);
  el_set(editor_, EL_BIND, "^C", "snug-interrupt", nullptr);
  el_set(editor_, EL_ADDFN, "snug-paste", "Insert a bracketed paste whole",
         &LineEditor::OnPaste);
  el_set(editor_, EL_BIND, kPasteStart, "snug-paste", nullptr);
  if (terminal_) {
    std::fputs("\033[?2004h", out_);  // ask for bracketed paste
    std::fflush(out_);
  }
}

LineEditor::~LineEditor() {
  if (terminal_) {
    std::fputs("\033[?2004l", out_);
    std::fflush(out_);
  }
  el_end(editor_);
  history_end(history_);
}

char* LineEditor::Prompt(EditLine* editor) { return Self(editor)->prompt_.data(); }

unsigned char LineEditor::OnInterrupt(EditLine* editor, int) {
  LineEditor* self = Self(editor);
  const LineInfo* line = el_line(editor);
  self->interrupted_ = true;
  self->interrupted_line_.assign(line->buffer, line->lastchar);
  return CC_EOF;
}

unsigned char LineEditor::OnPaste(EditLine* editor, int) {
  // Everything up to the end marker is text, newlines included.
  std::string text;
  const std::string end = kPasteEnd;
  char c = 0;
  while (el_getc(editor, &c) == 1) {
    text += c;
    if (text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0) {
      text.resize(text.size() - end.size());
      break;
    }
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  el_insertstr(editor, text.c_str());
  return CC_REFRESH;
}

LineEditor::Outcome LineEditor::Read(const std::string& prompt, std::string& line) {
  prompt_ = prompt;
  interrupted_ = false;
  interrupted_line_.clear();
  int count = 0;
  const char* text = el_gets(editor_, &count);
  if (interrupted_) {
    line = interrupted_line_;
    std::fputs("^C\n", out_);
    return Outcome::kInterrupted;
  }
  if (text == nullptr || count <= 0) return Outcome::kEnd;
  line.assign(text, static_cast<size_t>(count));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return Outcome::kLine;
}

void LineEditor::AddHistory(const std::string& line) {
  HistEvent event;
  history(history_, &event, H_ENTER, line.c_str());
}

}  // namespace snug::cli
