package server

import (
	"errors"
	"net/url"
)

// OIDCConfig configures single sign-on with an OpenID Connect issuer
// (authorization code flow).
type OIDCConfig struct {
	// Issuer is the issuer URL; its /.well-known/openid-configuration
	// names the endpoints.
	Issuer string
	// ClientID and ClientSecret are this server's client credentials.
	ClientID     string
	ClientSecret string
	// RedirectURL is where the issuer sends the browser back:
	// https://HOST/api/sso/finish.
	RedirectURL string
	// GroupsClaim is the ID token claim listing the user's groups
	// (default "groups"); unknown group names are ignored.
	GroupsClaim string
}

func (o *OIDCConfig) validate() error {
	for name, v := range map[string]string{"Issuer": o.Issuer, "RedirectURL": o.RedirectURL} {
		if _, err := url.ParseRequestURI(v); err != nil {
			return errors.New("server config: OIDC." + name + " must be an absolute URL")
		}
	}
	if o.ClientID == "" {
		return errors.New("server config: OIDC.ClientID is required")
	}
	return nil
}
