#!/usr/bin/env python3
"""Renders chat templates and Jinja feature probes with Jinja2 configured exactly as
transformers' apply_chat_template configures it, and writes the results to
tests/data/tokenizers/jinja_cases.json for chat_template_jinja_test.

    python3 tests/tokenizer/make_jinja_cases.py        # needs Jinja2 (3.1.x)

Environment (transformers/utils/chat_template_utils.py): ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and the loopcontrols extension; tojson = json.dumps(ensure_ascii=False,
indent, separators, sort_keys); raise_exception; strftime_now (pinned here to a fixed time).
"""
import datetime
import json
import pathlib
import traceback

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "data" / "tokenizers" / "jinja_cases.json"
NOW = 1722000000  # 2024-07-26T13:20:00Z, what strftime_now sees


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": {"type": "object", "properties": {
                                          "city": {"type": "string", "description": "城市名"},
                                          "unit": {"type": "string", "enum": ["c", "f"]}},
                                          "required": ["city"]}}},
    {"type": "function", "function": {"name": "add", "description": "Add numbers",
                                      "parameters": {"type": "object", "properties": {
                                          "a": {"type": "number"}, "b": {"type": "number", "default": 1.5}}}}},
]

CONVERSATIONS = {
    "simple": [{"role": "user", "content": "Hello!"}],
    "system": [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "What is 2+2?"},
               {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
    "tool_call_string_args": [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in Beijing?"},
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
            "name": "get_weather", "arguments": "{\"city\": \"Beijing\"}"}}]},
        {"role": "tool", "content": "{\"temp_c\": 21}"},
        {"role": "assistant", "content": "It is 21°C."}, {"role": "user", "content": "Thanks"}],
    "tool_call_dict_args": [
        {"role": "user", "content": "Add 2 and 3"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "add", "arguments": {"a": 2, "b": 3}}}]},
        {"role": "tool", "content": "5"}],
    "two_tool_calls": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}]},
        {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "rainy"}],
    "think": [{"role": "user", "content": "Solve x+1=2"},
              {"role": "assistant", "content": "<think>\nSubtract 1.\n</think>\n\nx = 1"},
              {"role": "user", "content": "Now x+2=5"}],
    "reasoning_field": [{"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "hello", "reasoning_content": "greet back"}],
}

# (template file, conversation, tools?, extra kwargs) rendered with and without the generation prompt.
REAL = [
    ("llama3_1_tools.jinja", "simple", False, {}),
    ("llama3_1_tools.jinja", "system", False, {}),
    ("llama3_1_tools.jinja", "tool_call_dict_args", True, {}),
    ("llama3_1_tools.jinja", "tool_call_string_args", True, {"tools_in_user_message": False}),
    ("llama3_1_tools.jinja", "two_tool_calls", True, {}),
    ("llama3_1_tools.jinja", "simple", False, {"builtin_tools": ["brave_search", "code_interpreter"],
                                                 "date_string": "1 Jan 2025"}),
    ("qwen2_5_tools.jinja", "simple", False, {}),
    ("qwen2_5_tools.jinja", "system", True, {}),
    ("qwen2_5_tools.jinja", "tool_call_string_args", True, {}),
    ("qwen2_5_tools.jinja", "tool_call_dict_args", False, {}),
    ("qwen2_5_tools.jinja", "two_tool_calls", True, {}),
    ("deepseek_r1.jinja", "simple", False, {}),
    ("deepseek_r1.jinja", "system", False, {}),
    ("deepseek_r1.jinja", "tool_call_string_args", False, {}),
    ("deepseek_r1.jinja", "two_tool_calls", False, {}),
    ("deepseek_r1.jinja", "think", False, {}),
    # The real Qwen3 and DeepSeek-V3 templates (from the tokenizer fixtures) with tools.
    ("fixture:qwen3", "tool_call_dict_args", True, {}),
    ("fixture:qwen3", "two_tool_calls", True, {"enable_thinking": False}),
    ("fixture:qwen3", "reasoning_field", False, {}),
    ("fixture:qwen3", "think", False, {"enable_thinking": True}),
    ("fixture:deepseek_v3", "tool_call_string_args", True, {}),
    ("fixture:deepseek_v3", "two_tool_calls", False, {}),
]


def template_source(fname):
    if fname.startswith("fixture:"):
        fixture = HERE.parent / "data" / "tokenizers" / (fname.split(":", 1)[1] + ".json")
        return json.loads(fixture.read_text())["chat_template"]
    return (HERE / "templates" / fname).read_text()

# Feature probes: (name, template, variables). Errors are recorded too.
PROBES = [
    ("trim_lstrip", "a\n  {% if true %}\n    b\n  {% endif %}\nc\n", {}),
    ("dash_control", "x  {{- ' y ' -}}  z\n{%- if 1 %} w {% endif -%}\n q", {}),
    ("plus_disables_lstrip", "a\n    {%+ if true %}b{% endif +%}\nc", {}),
    ("comments", "a {# note #}\n  {#- strip -#}  b\n{# line #}\nc", {}),
    ("raw", "{% raw %}{{ not rendered }}{% endraw %}!", {}),
    ("print_values", "{{ none }}|{{ true }}|{{ 1.0 }}|{{ 2.5e-7 }}|{{ 1e20 }}|{{ [1, 'a', none] }}|{{ {'k': 'v', 'n': 1} }}|{{ undefined_thing }}|{{ 'it''s' }}", {}),
    ("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 10 / 4 }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 1 + 2.5 }} {{ 'a' ~ 1 ~ none }} {{ -2 ** 2 }}", {}),
    ("compare", "{{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 3 > 2 > 1 }} {{ 1 < 2 < 1 }} {{ 'a' in 'cat' }} {{ 2 not in [1, 3] }} {{ 'k' in {'k': 1} }} {{ none == none }}", {}),
    ("logic", "{{ 0 or 'x' }} {{ '' and 'y' }} {{ not [] }} {{ 'yes' if 1 > 2 else 'no' }} {{ 'z' if false }}|", {}),
    ("loop_vars", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('o', 'e') }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("loop_else_filter", "{% for x in items if x > 1 %}{{ x }}{{ loop.index }},{% else %}empty{% endfor %}|{% for x in [] %}x{% else %}none{% endfor %}", {"items": [1, 2, 3]}),
    ("loop_controls", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("nested_loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}", {}),
    ("dict_loop", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for k, v in d | items %}{{ v }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("scoping", "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set y = 3 %}{% endif %}{{ y }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("multi_set", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c[1] }}", {}),
    ("block_set", "{% set body %}inner {{ 1 + 1 }}{% endset %}[{{ body }}]", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}", {}),
    ("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    ("string_methods", "{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ ' a'.lstrip() }}|{{ 'a '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|{{ 'Hello'.startswith('He') }}|{{ 'Hello'.endswith(('x', 'lo')) }}|{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}|{{ 'hello world'.title() }}|{{ 'hello'.capitalize() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'hello'.find('l') }}{{ 'hello'.rfind('l') }}{{ 'hello'.count('l') }}|{{ '-'.join(['a', 'b']) }}|{{ '{} is {name}'.format(1, name='x') }}|{{ '123'.isdigit() }}{{ 'abc'.isalpha() }}|{{ 'a\\nb'.splitlines() }}", {}),
    ("unicode_strings", "{{ s | length }}|{{ s[1] }}|{{ s[::-1] }}|{{ s[1:3] }}|{{ s.upper() }}|{{ s | list }}", {"s": "héllo世界"}),
    ("slicing", "{{ xs[1:] }}{{ xs[:-1] }}{{ xs[::2] }}{{ xs[::-1] }}{{ xs[-1] }}{{ xs[5] }}|{{ xs[-2:] }}", {"xs": [1, 2, 3, 4]}),
    ("filters_basic", "{{ xs | length }} {{ xs | first }} {{ xs | last }} {{ xs | join(', ') }} {{ xs | sum }} {{ xs | min }} {{ xs | max }} {{ xs | reverse | list }} {{ xs | sort }} {{ xs | sort(reverse=true) }} {{ xs | unique | list }}", {"xs": [3, 1, 2, 3]}),
    ("filters_strings", "{{ 'hi' | upper }} {{ 'HI' | lower }} {{ 'hi there' | title }} {{ 'hi' | capitalize }} {{ '  t  ' | trim }}|{{ 'xtx' | trim('x') }} {{ 'aXa' | replace('a', 'b') }} {{ none | string }} {{ 42 | string }} {{ '%s=%d' | format('a', 1) }} {{ 'a<b' | e }}", {}),
    ("title_wordcount", "{{ \"it's a dog-eat-dog (world) [x] <y>\" | title }}|{{ 'ÉCOLE du soir' | title }}|{{ 'hello, world! a-b c_d 12' | wordcount }}|{{ \"it's\".title() }}", {}),
    ("filters_numbers", "{{ '42' | int }} {{ '3.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '2.5' | float }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ -3 | abs }} {{ 3 | float }}", {}),
    ("filters_default", "{{ missing | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ 'v' | d('x') }}", {}),
    ("filters_map_select", "{{ users | map(attribute='name') | join(',') }} {{ users | selectattr('admin') | map(attribute='name') | list }} {{ users | rejectattr('admin') | map(attribute='name') | list }} {{ nums | select('odd') | list }} {{ nums | reject('even') | list }} {{ users | selectattr('name', 'equalto', 'b') | list | length }} {{ words | map('upper') | list }} {{ users | map(attribute='age', default=0) | list }}", {"users": [{"name": "a", "admin": True, "age": 3}, {"name": "b", "admin": False}], "nums": [1, 2, 3, 4, 5], "words": ["x", "y"]}),
    ("filters_sort_attr", "{{ users | sort(attribute='name') | map(attribute='name') | join }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ d | dictsort }}", {"users": [{"name": "c"}, {"name": "a"}, {"name": "b"}], "d": {"b": 1, "A": 2, "c": 3}}),
    ("tojson", "{{ obj | tojson }}|{{ obj | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson }}|{{ obj | tojson(sort_keys=true) }}|{{ obj | tojson(separators=(',', ':')) }}", {"obj": {"z": 1, "a": [1.5, True, None, "中文"], "m": {"k": "v"}}}),
    ("indent_filter", "{{ text | indent(2) }}|{{ text | indent(2, true) }}|{{ text | indent(2, blank=true) }}", {"text": "a\n\nb\nc"}),
    ("tests", "{{ 1 is number }}{{ true is number }}{{ 1 is integer }}{{ true is integer }}{{ 1.5 is float }}{{ 's' is string }}{{ {} is mapping }}{{ [] is mapping }}{{ 's' is iterable }}{{ 1 is iterable }}{{ [] is sequence }}{{ none is none }}{{ x is defined }}{{ x is undefined }}{{ true is true }}{{ 0 is false }}{{ true is boolean }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 2 is eq 2 }}{{ 2 is equalto(3) }}{{ 2 is in [1, 2] }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ range is callable }}{{ 3 is gt 2 }}{{ 3 is not ge 4 }}", {}),
    ("dict_access", "{{ m.a }} {{ m['a'] }} {{ m.missing }}|{{ m.get('a') }} {{ m.get('z', 'dflt') }} {{ m.keys() | list }} {{ m.values() | list }} {{ m['missing'] is defined }} {{ m['items'] }}", {"m": {"a": 1, "items": 2}}),
    ("none_attr", "{{ n.foo is defined }}{{ n['x'] is defined }}", {"n": None}),
    ("strftime", "{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d') }}", {}),
    ("range_dict", "{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ dict(a=1, b=2) }} {{ range(5, 0, -2) | list }}", {}),
    ("loop_over_string_and_dict", "{% for c in 'héy' %}[{{ c }}]{% endfor %}{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}", {}),
    ("string_concat_adjacent", "{{ 'a' 'b' }} {{ \"q\\\"uote\" }} {{ 'tab\\there' }} {{ '\\u00e9' }}", {}),
    ("whitespace_mixed", "{% for m in msgs %}\n  <{{ m }}>\n{% endfor %}\n{%- if true -%}\n  end\n{%- endif %}\n", {"msgs": ["a", "b"]}),
    ("set_loop_var_reassign", "{% for t in items %}{% if t.f is defined %}{% set t = t.f %}{% endif %}{{ t.n }}{% endfor %}", {"items": [{"f": {"n": 1}}, {"n": 2}]}),
    # errors
    ("err_undefined_attr", "line one\n{{ missing.attr }}", {}),
    ("err_in_none", "{% if 'x' in value %}y{% endif %}", {"value": None}),
    ("err_add_none", "{{ 'a' + value }}", {"value": None}),
    ("err_raise", "a\nb\n{{ raise_exception('Conversation roles must alternate') }}", {}),
    ("err_unknown_filter", "{{ 1 | no_such_filter }}", {}),
    ("err_syntax_unclosed_if", "{% if true %}\nno end", {}),
    ("err_syntax_bad_expr", "ok\n{{ 1 + }}", {}),
    ("err_syntax_unknown_tag", "{% frobnicate %}", {}),
    ("err_unclosed_var", "x {{ 1 ", {}),
    ("err_compare_types", "{{ 1 < 'a' }}", {}),
    ("err_list_append", "{% set xs = [] %}{{ xs.append(1) }}", {}),
    ("err_set_attr_non_namespace", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("err_iterate_none", "{% for x in none %}{% endfor %}", {}),
    ("err_dict_method_not_iterable", "{{ m.items | list }}", {"m": {"items": 2}}),
    ("err_divide_zero", "{{ 1 // 0 }}", {}),
]


def render(env, source, variables):
    try:
        return {"rendered": env.from_string(source).render(**variables)}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": f"{type(e).__name__}: {e}", "error_line": e.lineno}
    except Exception as e:  # noqa: BLE001 - the reference's failure is the expected result
        lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == "<template>"]
        out = {"error": f"{type(e).__name__}: {e}"}
        if lines:
            out["error_line"] = lines[-1]
        return out


def main():
    env = make_env()
    cases = []
    for name, source, variables in PROBES:
        cases.append({"name": name, "template": source, "variables": variables, **render(env, source, variables)})
    for fname, conv, with_tools, extra in REAL:
        source = template_source(fname)
        for agp in (False, True):
            variables = {"messages": CONVERSATIONS[conv], "tools": TOOLS if with_tools else None,
                         "documents": None, "add_generation_prompt": agp,
                         "bos_token": "<BOS>", "eos_token": "<EOS>", **extra}
            cases.append({"name": f"{fname}:{conv}:{'agp' if agp else 'noagp'}", "template_file": fname,
                          "variables": variables, **render(env, source, variables)})
    OUT.write_text(json.dumps({"jinja2": jinja2.__version__, "now_unix_s": NOW, "cases": cases},
                              ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
