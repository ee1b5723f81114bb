#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cctype>

#include "tokenizer/unicode.h"

namespace fathom::tokenizer::jinja {

namespace {

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

Status lex_error(int line, const std::string& msg) {
  return invalid_argument("line " + std::to_string(line) + ": " + msg);
}

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& opt) : src_(src), opt_(opt) {}

  Result<std::vector<Token>> run() {
    bool strip_next_text = false;  // the previous tag ended with '-'
    while (pos_ < src_.size()) {
      const size_t start = find_tag_start(pos_);
      std::string text(src_.substr(pos_, start - pos_));
      const int text_line = line_;
      count_lines(pos_, start);
      if (strip_next_text) {
        size_t k = 0;
        while (k < text.size() && is_ws(text[k])) ++k;
        text.erase(0, k);
        strip_next_text = false;
      }
      if (start >= src_.size()) {
        push_text(std::move(text), text_line);
        pos_ = start;
        break;
      }
      const char kind = src_[start + 1];  // '{', '%' or '#'
      const char marker = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (marker == '-') {
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      } else if (kind != '{' && opt_.lstrip_blocks && marker != '+') {
        // Strip spaces/tabs between the line start and the tag.
        size_t p = start;
        while (p > pos_ && (src_[p - 1] == ' ' || src_[p - 1] == '\t')) --p;
        if (p == 0 || src_[p - 1] == '\n')
          text.erase(text.size() - std::min(text.size(), start - p));
      }
      push_text(std::move(text), text_line);
      pos_ = start + 2;
      if (marker == '-' || marker == '+') ++pos_;

      if (kind == '#') {
        const size_t end = src_.find("#}", pos_);
        if (end == std::string_view::npos) return lex_error(line_, "unterminated comment");
        const bool strip_after = end > pos_ && src_[end - 1] == '-';
        count_lines(pos_, end);
        pos_ = end + 2;
        if (strip_after)
          strip_next_text = true;
        else if (opt_.trim_blocks)
          skip_newline();
        continue;
      }
      const bool is_block = kind == '%';
      tokens_.push_back({is_block ? TokenKind::kBlockBegin : TokenKind::kVarBegin, "", line_});
      const size_t first_expr_token = tokens_.size();
      bool strip_after = false;
      bool keep_newline = false;
      FATHOM_RETURN_IF_ERROR(lex_expression(is_block, strip_after, keep_newline));
      tokens_.push_back({is_block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, "", line_});
      if (strip_after) {
        strip_next_text = true;
      } else if (is_block && opt_.trim_blocks && !keep_newline) {
        skip_newline();
      }
      if (is_block && tokens_.size() == first_expr_token + 2 &&
          tokens_[first_expr_token].kind == TokenKind::kName &&
          tokens_[first_expr_token].value == "raw") {
        // {% raw %}...{% endraw %}: the body is text.
        tokens_.resize(first_expr_token - 1);
        FATHOM_RETURN_IF_ERROR(lex_raw_body(strip_next_text));
      }
    }
    tokens_.push_back({TokenKind::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  void push_text(std::string text, int line) {
    if (!text.empty()) tokens_.push_back({TokenKind::kText, std::move(text), line});
  }

  size_t find_tag_start(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string_view::npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#'))
        return p;
    }
    return src_.size();
  }

  void count_lines(size_t from, size_t to) {
    for (size_t i = from; i < to && i < src_.size(); ++i)
      if (src_[i] == '\n') ++line_;
  }

  void skip_newline() {
    if (pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ++line_;
    } else if (pos_ + 1 < src_.size() && src_[pos_] == '\r' && src_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
    }
  }

  Status lex_raw_body(bool& strip_next_text) {
    size_t search = pos_;
    for (;;) {
      const size_t tag = src_.find("{%", search);
      if (tag == std::string_view::npos) return lex_error(line_, "missing {% endraw %}");
      size_t p = tag + 2;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
      while (p < src_.size() && is_ws(src_[p])) ++p;
      if (src_.compare(p, 6, "endraw") != 0) {
        search = tag + 2;
        continue;
      }
      p += 6;
      while (p < src_.size() && is_ws(src_[p])) ++p;
      bool strip_after = false;
      if (p < src_.size() && src_[p] == '-') {
        strip_after = true;
        ++p;
      }
      if (src_.compare(p, 2, "%}") != 0) return lex_error(line_, "malformed {% endraw %}");
      std::string body(src_.substr(pos_, tag - pos_));
      if (src_[tag + 2] == '-') {
        while (!body.empty() && is_ws(body.back())) body.pop_back();
      }
      if (strip_next_text) {
        size_t k = 0;
        while (k < body.size() && is_ws(body[k])) ++k;
        body.erase(0, k);
        strip_next_text = false;
      }
      push_text(std::move(body), line_);
      count_lines(pos_, p + 2);
      pos_ = p + 2;
      if (strip_after)
        strip_next_text = true;
      else if (opt_.trim_blocks)
        skip_newline();
      return ok_status();
    }
  }

  Status lex_expression(bool is_block, bool& strip_after, bool& keep_newline) {
    const char close0 = is_block ? '%' : '}';
    for (;;) {
      while (pos_ < src_.size() && is_ws(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size())
        return lex_error(line_, is_block ? "unterminated {% tag" : "unterminated {{ tag");
      const char c = src_[pos_];
      // End of tag, possibly with a '-' or '+' marker.
      if ((c == '-' || c == '+') && pos_ + 2 < src_.size() + 0 && src_[pos_ + 1] == close0 &&
          src_[pos_ + 2] == '}') {
        strip_after = c == '-';
        keep_newline = c == '+';
        pos_ += 3;
        return ok_status();
      }
      if (c == close0 && pos_ + 1 < src_.size() && src_[pos_ + 1] == '}') {
        pos_ += 2;
        return ok_status();
      }
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t end = pos_ + 1;
        while (end < src_.size() &&
               (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
          ++end;
        tokens_.push_back({TokenKind::kName, std::string(src_.substr(pos_, end - pos_)), line_});
        pos_ = end;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t end = pos_;
        while (end < src_.size() &&
               (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
          ++end;
        bool is_float = false;
        if (end + 1 < src_.size() && src_[end] == '.' &&
            std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
          is_float = true;
          ++end;
          while (end < src_.size() && std::isdigit(static_cast<unsigned char>(src_[end]))) ++end;
        }
        if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
          size_t e = end + 1;
          if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
          if (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
            is_float = true;
            end = e;
            while (end < src_.size() && std::isdigit(static_cast<unsigned char>(src_[end]))) ++end;
          }
        }
        std::string num(src_.substr(pos_, end - pos_));
        std::erase(num, '_');
        tokens_.push_back({is_float ? TokenKind::kFloat : TokenKind::kInt, std::move(num), line_});
        pos_ = end;
        continue;
      }
      if (c == '\'' || c == '"') {
        FATHOM_RETURN_IF_ERROR(lex_string(c));
        continue;
      }
      static constexpr std::string_view kTwoCharOps[] = {"**", "//", "==", "!=", "<=", ">="};
      bool matched = false;
      for (std::string_view op : kTwoCharOps) {
        if (src_.compare(pos_, 2, op) == 0) {
          tokens_.push_back({TokenKind::kOp, std::string(op), line_});
          pos_ += 2;
          matched = true;
          break;
        }
      }
      if (matched) continue;
      static constexpr std::string_view kOneCharOps = "+-*/%~<>=()[]{},.:|";
      if (kOneCharOps.find(c) != std::string_view::npos) {
        tokens_.push_back({TokenKind::kOp, std::string(1, c), line_});
        ++pos_;
        continue;
      }
      return lex_error(line_, std::string("unexpected character '") + c + "' in tag");
    }
  }

  Status lex_string(char quote) {
    const int start_line = line_;
    std::string out;
    ++pos_;
    while (pos_ < src_.size() && src_[pos_] != quote) {
      char c = src_[pos_];
      if (c == '\n') ++line_;
      if (c == '\\' && pos_ + 1 < src_.size()) {
        const char n = src_[pos_ + 1];
        pos_ += 2;
        switch (n) {
          case 'n':
            out.push_back('\n');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'v':
            out.push_back('\v');
            break;
          case '0':
            out.push_back('\0');
            break;
          case '\\':
            out.push_back('\\');
            break;
          case '\'':
            out.push_back('\'');
            break;
          case '"':
            out.push_back('"');
            break;
          case '\n':
            ++line_;
            break;  // line continuation
          case 'x':
          case 'u':
          case 'U': {
            const size_t len = n == 'x' ? 2 : n == 'u' ? 4 : 8;
            if (pos_ + len > src_.size()) return lex_error(line_, "truncated escape in string");
            const std::string hex(src_.substr(pos_, len));
            char* end = nullptr;
            const unsigned long cp = std::strtoul(hex.c_str(), &end, 16);
            if (end != hex.c_str() + len || cp > 0x10FFFF)
              return lex_error(line_, "bad escape \\" + std::string(1, n) + hex);
            append_utf8(out, static_cast<char32_t>(cp));
            pos_ += len;
            break;
          }
          default:
            out.push_back('\\');
            out.push_back(n);
        }
        continue;
      }
      out.push_back(c);
      ++pos_;
    }
    if (pos_ >= src_.size()) return lex_error(start_line, "unterminated string literal");
    ++pos_;
    tokens_.push_back({TokenKind::kString, std::move(out), start_line});
    return ok_status();
  }

  std::string_view src_;
  LexOptions opt_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> lex(std::string_view source, const LexOptions& options) {
  // Like Jinja2 (newline_sequence="\n", keep_trailing_newline=False): line endings become
  // "\n" and one trailing newline is dropped.
  std::string normalized;
  normalized.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      normalized.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      normalized.push_back(source[i]);
    }
  }
  if (!normalized.empty() && normalized.back() == '\n') normalized.pop_back();
  return Lexer(normalized, options).run();
}

}  // namespace fathom::tokenizer::jinja
