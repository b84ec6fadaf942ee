package callscribe

import "time"

// AccountData is what a user's account on the web holds about them, as their access
// export shows it: role and language, the provider identities linked (what each provider
// gave), the sessions (with the address each came from, kept only while the session
// lives) and their answers to the versions of the user agreement.
type AccountData struct {
	Role             string
	Language         string
	EmailVerifiedAt  *time.Time
	CreatedAt        time.Time
	Identities       []AccountIdentity
	Sessions         []AccountSession
	AgreementAnswers []AgreementAnswer
}

// AccountIdentity is a provider identity linked to an account.
type AccountIdentity struct {
	Provider, Subject, Email, Surname, FirstName string
	LinkedAt                                     time.Time
}

// AccountSession is a signed-in browser, without its id.
type AccountSession struct {
	CreatedAt, LastSeenAt, ExpiresAt time.Time
	UserAgent                        string // the family: "Chrome on Linux"
	Address                          string
}

// AgreementAnswer is a user's answer to one version of the user agreement.
type AgreementAnswer struct {
	Version string
	Action  string // accept, decline
	Channel ConsentChannel
	At      time.Time
}

// ProfileEdit is a new value for one profile field: surname, first_name, patronymic,
// email or phone.
type ProfileEdit struct {
	Field string
	Value string
}
