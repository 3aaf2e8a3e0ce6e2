// A tiny XML well-formedness checker for the SVG and HTML the report writes: every element
// closed in order, attributes quoted, no stray '<' or '&' in text. Not a full XML parser (no
// DTDs, no namespaces checks); enough to catch a missing '/>' or an unescaped label.
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace vitsweep::testing {

struct XmlElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string attribute(const std::string& key) const {
    for (const auto& [k, v] : attributes) {
      if (k == key) return v;
    }
    return "";
  }
};

// Returns "" when `text` is well-formed, else what is wrong and where; `elements` gets every
// start tag in document order.
inline std::string check_xml(const std::string& text, std::vector<XmlElement>* elements = nullptr) {
  std::vector<std::string> open;
  size_t i = 0;
  auto where = [&] { return " at offset " + std::to_string(i); };
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  };
  bool root_seen = false;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '&') {
      const size_t semi = text.find(';', i);
      const std::string entity = semi == std::string::npos ? "" : text.substr(i, semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" &&
          entity != "&apos;" && !(entity.size() > 3 && entity[1] == '#')) {
        return "stray '&'" + where();
      }
      i = semi + 1;
      continue;
    }
    if (c != '<') {
      if (c == '>') return "stray '>'" + where();
      ++i;
      continue;
    }
    if (text.compare(i, 4, "<!--") == 0) {
      const size_t end = text.find("-->", i);
      if (end == std::string::npos) return "unclosed comment" + where();
      i = end + 3;
      continue;
    }
    if (text.compare(i, 2, "<?") == 0 || text.compare(i, 2, "<!") == 0) {
      const size_t end = text.find('>', i);
      if (end == std::string::npos) return "unclosed declaration" + where();
      i = end + 1;
      continue;
    }
    const bool closing = i + 1 < text.size() && text[i + 1] == '/';
    size_t p = i + (closing ? 2 : 1);
    const size_t name_start = p;
    while (p < text.size() && is_name(text[p])) ++p;
    const std::string name = text.substr(name_start, p - name_start);
    if (name.empty()) return "tag without a name" + where();
    if (closing) {
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
      if (p >= text.size() || text[p] != '>') return "bad closing tag </" + name + where();
      if (open.empty() || open.back() != name) {
        return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">") +
               where();
      }
      open.pop_back();
      i = p + 1;
      continue;
    }
    if (open.empty() && root_seen) return "second root element <" + name + ">" + where();
    root_seen = true;
    XmlElement element{name, {}};
    while (true) {
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
      if (p >= text.size()) return "unclosed tag <" + name + where();
      if (text[p] == '>') {
        open.push_back(name);
        ++p;
        break;
      }
      if (text.compare(p, 2, "/>") == 0) {
        p += 2;
        break;
      }
      const size_t key_start = p;
      while (p < text.size() && is_name(text[p])) ++p;
      const std::string key = text.substr(key_start, p - key_start);
      if (key.empty() || p >= text.size() || text[p] != '=') {
        return "attribute without a value in <" + name + where();
      }
      ++p;
      const char quote = p < text.size() ? text[p] : '\0';
      if (quote != '"' && quote != '\'')
        return "unquoted attribute " + key + " in <" + name + where();
      const size_t end = text.find(quote, p + 1);
      if (end == std::string::npos) return "unclosed attribute " + key + where();
      const std::string value = text.substr(p + 1, end - p - 1);
      if (value.find('<') != std::string::npos) return "'<' in attribute " + key + where();
      element.attributes.emplace_back(key, value);
      p = end + 1;
    }
    if (elements) elements->push_back(element);
    i = p;
  }
  if (!open.empty()) return "unclosed <" + open.back() + "> at the end";
  if (!root_seen) return "no element";
  return "";
}

}  // namespace vitsweep::testing
