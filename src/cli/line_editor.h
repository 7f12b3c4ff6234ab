// The interactive chat's input: libedit line editing and history; Ctrl-C discards the line being
// typed (and reports an empty one, which the chat takes as "quit"); Ctrl-D ends the input; a
// bracketed paste (the terminal marks pasted text) is inserted whole, newlines included, so a
// pasted block is one turn. Without a terminal it reads plain lines.
#pragma once

#include <histedit.h>

#include <cstdio>
#include <string>

namespace snug::cli {

class LineEditor {
 public:
  enum class Outcome { kLine, kInterrupted, kEnd };

  LineEditor(const char* program, FILE* in, FILE* out, FILE* err);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // Reads one line (without its final newline) into `line`. kInterrupted: Ctrl-C, and `line`
  // holds what had been typed (discarded); kEnd: Ctrl-D or the end of the input.
  Outcome Read(const std::string& prompt, std::string& line);
  void AddHistory(const std::string& line);

 private:
  static char* Prompt(EditLine* editor);
  static unsigned char OnInterrupt(EditLine* editor, int key);
  static unsigned char OnPaste(EditLine* editor, int key);

  EditLine* editor_ = nullptr;
  History* history_ = nullptr;
  FILE* out_;
  bool terminal_ = false;
  std::string prompt_;
  bool interrupted_ = false;
  std::string interrupted_line_;
};

}  // namespace snug::cli
