#pragma once

#include "services/intake/api_router.h"
#include "services/intake/authenticator.h"
#include "services/intake/compat/compat_config.h"

namespace otp::intake::compat {

class Seed000Handler;
class Seed002Handler;

/// Registers the compatibility routes (docs/http-api.md, "Compatibility routes"):
/// `POST /api/send-otp`, `POST /api/verify-otp` (seed 002), `POST /send-otp` and
/// `POST /verify-otp` (seed 000).
///
/// The routes are public in the router's sense: each seed answers errors in its own envelope,
/// so the routes read their bodies themselves. With `config.require_auth` they authenticate with
/// `authenticator` and accept only keys of `config.tenant` (401/403/503 in the seed's envelope;
/// a 401 carries the same `WWW-Authenticate` challenge as the primary API's).
/// CORS comes from the intake's Cors in front of the router. The references must outlive
/// `router`.
void add_compat_routes(ApiRouter& router, Seed002Handler& seed002, Seed000Handler& seed000,
                       const Authenticator& authenticator, const CompatConfig& config);

}  // namespace otp::intake::compat
