package callscribe

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

func joinPurposes() string {
	names := make([]string, len(Purposes))
	for i, p := range Purposes {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// ConsentChannel is how a grant or withdrawal reached us.
type ConsentChannel string

const (
	ConsentViaAPI ConsentChannel = "api" // the JSON API, on the user's behalf
	ConsentViaWeb ConsentChannel = "web" // the user, in the web pages
	ConsentViaCLI ConsentChannel = "cli" // the operator, with callscribe consent
	ConsentViaBot ConsentChannel = "bot" // a messenger bot, on the user's behalf
)

// ConsentChannels lists every channel, in a stable order.
var ConsentChannels = []ConsentChannel{ConsentViaAPI, ConsentViaWeb, ConsentViaCLI, ConsentViaBot}

// ParseConsentChannel checks that s names a known channel.
func ParseConsentChannel(s string) (ConsentChannel, error) {
	for _, c := range ConsentChannels {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Errorf(EINVALID, "unknown consent channel %q (known: api, web, cli, bot)", s)
}

// ConsentAction is what a consent event did.
type ConsentAction string

const (
	ConsentGrant    ConsentAction = "grant"
	ConsentWithdraw ConsentAction = "withdraw"
)

// ConsentEvent is one grant or withdrawal, as it happened: the history of a user's consent.
type ConsentEvent struct {
	UserID        uuid.UUID      `json:"user_id"`
	Purpose       Purpose        `json:"purpose"`
	Action        ConsentAction  `json:"action"`
	PolicyVersion string         `json:"policy_version"`
	Channel       ConsentChannel `json:"channel"`
	At            time.Time      `json:"at"`
}
