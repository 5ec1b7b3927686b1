package auth

// Via says how an Authorizer authorizes a channel, in the words of the
// status lines: "through http://host/broadcasting/auth" or "signed locally
// with the app secret". Callers find it with an optional interface
// (interface{ Via() string }), so pusher.Authorizer stays as it is.

// ViaLocal is what Signer.Via says.
const ViaLocal = "signed locally with the app secret"

// Via is "signed locally with the app secret".
func (s *Signer) Via() string { return ViaLocal }

// Via is "through " and the auth URL without userinfo, query and fragment.
func (e *Endpoint) Via() string { return "through " + RedactURL(e.URL) }
