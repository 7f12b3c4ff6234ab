// GET /, /app.js, /app.css: the chat and status page (web/), compiled into the binary by the
// caller and served with a Content-Security-Policy that lets the page load nothing but itself
// and talk to nothing but this server. `--no-web` (no assets): 404.
#include "server/routes.h"

namespace snug::server {

// Scripts and styles only from this origin (no inline code, no eval); images also from data:
// and blob: URLs (attachments, previews); API calls to this origin; no framing, no plugins.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

void HandleWebPage(ServerContext& context, const HttpRequest& request, HttpResponse& response,
                   const std::shared_ptr<RequestRecord>&) {
  for (const WebAsset& asset : context.options().web_assets) {
    if (request.path != asset.url) continue;
    response.SetHeader("Content-Security-Policy", kContentSecurityPolicy);
    response.SetHeader("X-Content-Type-Options", "nosniff");
    response.SetHeader("Referrer-Policy", "no-referrer");
    response.SetHeader("Cache-Control", "no-cache");
    response.SetContent(std::string(asset.body), asset.content_type);
    return;
  }
  SendError(response, ApiError{.http_status = 404,
                               .code = "unknown_url",
                               .message = context.options().web_assets.empty()
                                              ? "The web page is off (--no-web, or snug was "
                                                "built without it)."
                                              : "Unknown request URL: GET " + request.path + "."});
}

}  // namespace snug::server
