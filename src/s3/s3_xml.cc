// expat is used without namespace processing: element names arrive as written
// ("Key" or, from unusual servers, "s3:Key"), and the prefix is dropped here.
#include "s3/s3_xml.h"

#include <expat.h>

#include <memory>

namespace lifeboat {
namespace {

struct ParseState {
  XML_Parser parser = nullptr;
  const XmlLimits* limits = nullptr;
  const std::function<void(const std::vector<std::string>&, const std::string&)>* on_end = nullptr;
  std::vector<std::string> path;
  std::vector<std::string> text;  // one buffer per open element
  size_t elements = 0;
  std::string failure;  // why we stopped the parser ourselves
};

void Stop(ParseState* st, std::string why) {
  if (st->failure.empty()) st->failure = std::move(why);
  XML_StopParser(st->parser, XML_FALSE);
}

std::string LocalName(const XML_Char* name) {
  std::string_view n(name);
  const size_t colon = n.rfind(':');
  if (colon != std::string_view::npos) n.remove_prefix(colon + 1);
  return std::string(n);
}

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char**) {
  auto* st = static_cast<ParseState*>(data);
  if (!st->failure.empty()) return;
  if (++st->elements > st->limits->max_elements) return Stop(st, "too many elements");
  if (st->path.size() >= st->limits->max_depth) return Stop(st, "nested too deeply");
  st->path.push_back(LocalName(name));
  st->text.emplace_back();
}

void XMLCALL OnEnd(void* data, const XML_Char*) {
  auto* st = static_cast<ParseState*>(data);
  if (!st->failure.empty() || st->path.empty()) return;
  (*st->on_end)(st->path, st->text.back());
  st->path.pop_back();
  st->text.pop_back();
}

void XMLCALL OnText(void* data, const XML_Char* s, int len) {
  auto* st = static_cast<ParseState*>(data);
  if (!st->failure.empty() || st->text.empty() || len <= 0) return;
  std::string& buf = st->text.back();
  if (buf.size() + static_cast<size_t>(len) > st->limits->max_text) {
    return Stop(st, "element text too long");
  }
  buf.append(s, static_cast<size_t>(len));
}

void XMLCALL OnDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  Stop(static_cast<ParseState*>(data), "document type declarations are not accepted");
}

void XMLCALL OnEntityDecl(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                          const XML_Char*, const XML_Char*, const XML_Char*) {
  Stop(static_cast<ParseState*>(data), "entity declarations are not accepted");
}

struct ParserDeleter {
  void operator()(XML_ParserStruct* p) const { XML_ParserFree(p); }
};

}  // namespace

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

namespace {

bool PathIs(const std::vector<std::string>& path, std::initializer_list<std::string_view> want) {
  if (path.size() != want.size()) return false;
  size_t i = 0;
  for (std::string_view w : want) {
    if (path[i++] != w) return false;
  }
  return true;
}

}  // namespace

Status ParseXml(ByteView xml, const XmlLimits& limits,
                const std::function<void(const std::vector<std::string>& path,
                                         const std::string& text)>& on_end) {
  if (xml.size() > limits.max_bytes) {
    return Corrupt("XML document of " + std::to_string(xml.size()) + " bytes exceeds the limit of " +
                   std::to_string(limits.max_bytes));
  }
  if (xml.size() > static_cast<size_t>(INT32_MAX)) return Corrupt("XML document too large");
  std::unique_ptr<XML_ParserStruct, ParserDeleter> parser(XML_ParserCreate("UTF-8"));
  if (!parser) return Internal("unable to create an XML parser");
  ParseState st;
  st.parser = parser.get();
  st.limits = &limits;
  st.on_end = &on_end;
  XML_SetUserData(parser.get(), &st);
  XML_SetElementHandler(parser.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser.get(), OnText);
  XML_SetStartDoctypeDeclHandler(parser.get(), OnDoctype);
  XML_SetEntityDeclHandler(parser.get(), OnEntityDecl);
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);
  const XML_Status rc = XML_Parse(parser.get(), reinterpret_cast<const char*>(xml.data()),
                                  static_cast<int>(xml.size()), XML_TRUE);
  if (!st.failure.empty()) return Corrupt("malformed XML: " + st.failure);
  if (rc != XML_STATUS_OK) {
    return Corrupt(std::string("malformed XML: ") + XML_ErrorString(XML_GetErrorCode(parser.get())) +
                   " at line " + std::to_string(XML_GetCurrentLineNumber(parser.get())));
  }
  return Status::Ok();
}

std::optional<S3ErrorBody> ParseS3Error(ByteView body) {
  XmlLimits limits;
  limits.max_bytes = 64u << 10;
  limits.max_text = 4u << 10;
  limits.max_elements = 200;
  if (body.empty() || body.size() > limits.max_bytes) return std::nullopt;
  S3ErrorBody err;
  bool root_is_error = false;
  Status st = ParseXml(body, limits, [&](const std::vector<std::string>& path, const std::string& text) {
    if (path.size() == 1) root_is_error = path[0] == "Error";
    if (path.size() != 2 || path[0] != "Error") return;
    if (path[1] == "Code") {
      err.code = SanitizeForMessage(text, 64);
    } else if (path[1] == "Message") {
      err.message = SanitizeForMessage(text);
    } else if (path[1] == "Region") {
      err.region = SanitizeForMessage(text, 64);
    } else if (path[1] == "Endpoint") {
      err.endpoint = SanitizeForMessage(text, 255);
    }
  });
  if (!st.ok() || !root_is_error) return std::nullopt;
  return err;
}

Result<S3ListPage> ParseListObjectsV2(ByteView body) {
  S3ListPage page;
  S3ListEntry current;
  bool have_key = false;
  bool have_size = false;
  bool root_ok = false;
  std::string bad;
  Status st = ParseXml(body, XmlLimits{}, [&](const std::vector<std::string>& path, const std::string& text) {
    if (!bad.empty()) return;
    if (path.size() == 1) {
      root_ok = path[0] == "ListBucketResult";
      return;
    }
    if (path.empty() || path[0] != "ListBucketResult") return;
    if (PathIs(path, {"ListBucketResult", "IsTruncated"})) {
      if (text == "true") {
        page.truncated = true;
      } else if (text == "false") {
        page.truncated = false;
      } else {
        bad = "IsTruncated is neither true nor false";
      }
    } else if (PathIs(path, {"ListBucketResult", "NextContinuationToken"})) {
      page.next_token = text;
    } else if (PathIs(path, {"ListBucketResult", "Contents", "Key"})) {
      current.key = text;
      have_key = true;
    } else if (PathIs(path, {"ListBucketResult", "Contents", "Size"})) {
      const std::optional<uint64_t> size = ParseDecimal(text);
      if (!size) {
        bad = "a Size that is not a number";
      } else {
        current.size = *size;
        have_size = true;
      }
    } else if (PathIs(path, {"ListBucketResult", "Contents"})) {
      if (!have_key || !have_size) {
        bad = "an entry without Key or Size";
      } else {
        page.entries.push_back(std::move(current));
      }
      current = S3ListEntry();
      have_key = have_size = false;
    }
  });
  if (!st.ok()) return Corrupt("unable to parse the object listing: " + st.message());
  if (!root_ok) return Corrupt("unable to parse the object listing: not a ListBucketResult");
  if (!bad.empty()) return Corrupt("unable to parse the object listing: " + bad);
  if (page.truncated && page.next_token.empty()) {
    return Corrupt("unable to parse the object listing: truncated without a continuation token");
  }
  return page;
}

Result<std::string> ParseInitiateMultipartUpload(ByteView body) {
  XmlLimits limits;
  limits.max_bytes = 64u << 10;
  limits.max_text = 4u << 10;
  std::string upload_id;
  Status st = ParseXml(body, limits, [&](const std::vector<std::string>& path, const std::string& text) {
    if (PathIs(path, {"InitiateMultipartUploadResult", "UploadId"})) upload_id = text;
  });
  if (!st.ok()) return Corrupt("unable to parse the multipart upload answer: " + st.message());
  if (upload_id.empty() || upload_id.size() > 1024) {
    return Corrupt("the multipart upload answer has no valid UploadId");
  }
  for (char c : upload_id) {
    if (c < 0x21 || c > 0x7e) return Corrupt("the multipart UploadId has unexpected characters");
  }
  return upload_id;
}

std::string BuildCompleteMultipartUpload(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           XmlEscape(etags[i]) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string BuildCreateBucketConfiguration(const std::string& region) {
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<LocationConstraint>" +
         XmlEscape(region) + "</LocationConstraint></CreateBucketConfiguration>";
}

std::string SanitizeForMessage(std::string_view text, size_t max) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace lifeboat
