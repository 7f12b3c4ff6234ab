// Chat templates for synthetic models whose tokenizer source ships none: written here from the
// formats in specs/models.md §8 (text only: no images, no tools; Gemma 4 with thinking off;
// Harmony with a fixed system message). The real Gemma 3 template is used when the npm
// package's tokenizer_config.json is present.
#include "synth/vocab.h"

namespace snug::synth {

std::string Gemma3ChatTemplate() {
  return R"({{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
  {%- set first_user_prefix = (messages[0]['content'] | trim) + '\n\n' -%}
  {%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set first_user_prefix = '' -%}
  {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
  {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
  {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}
  {{- (message['content'] | trim) + '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}
)";
}

std::string Gemma4ChatTemplate() {
  return R"({{ bos_token }}
{%- set loop_messages = messages -%}
{%- if messages[0]['role'] in ['system', 'developer'] -%}
  {{ '<|turn>system\n' + (messages[0]['content'] | trim) + '<turn|>\n' }}
  {%- set loop_messages = messages[1:] -%}
{%- endif -%}
{%- for message in loop_messages -%}
  {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
  {{ '<|turn>' + role + '\n' + (message['content'] | trim) + '<turn|>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|turn>model\n<|channel>thought\n<channel|>' }}{%- endif -%}
)";
}

std::string HarmonyChatTemplate() {
  return R"({{- '<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n\nReasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>' -}}
{%- for message in messages -%}
  {%- if message['role'] in ['system', 'developer'] -%}
    {{- '<|start|>developer<|message|># Instructions\n\n' + (message['content'] | trim) + '<|end|>' -}}
  {%- elif message['role'] == 'assistant' -%}
    {{- '<|start|>assistant<|channel|>final<|message|>' + message['content'] + '<|end|>' -}}
  {%- else -%}
    {{- '<|start|>' + message['role'] + '<|message|>' + message['content'] + '<|end|>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start|>assistant' -}}{%- endif -%}
)";
}

std::string Llama3ChatTemplate() {
  return R"({{- bos_token -}}
{%- for message in messages -%}
  {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + (message['content'] | trim) + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}
)";
}

}  // namespace snug::synth
