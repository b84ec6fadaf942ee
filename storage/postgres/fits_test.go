package postgres_test

import (
	"callscribe/accounts"
	"callscribe/notify"
	"callscribe/privacy"
	"callscribe/storage/postgres"
	"callscribe/webhook"
)

// The stores accounts, privacy, webhook and notify declare, as this adapter fits them: a
// change to either side that breaks the fit fails to compile here.
var (
	_ privacy.ConsentStore    = (*postgres.DB)(nil)
	_ privacy.RequestStore    = (*postgres.DB)(nil)
	_ privacy.RequestStore    = (*postgres.Queued)(nil)
	_ privacy.ErasureStore    = (*postgres.DB)(nil)
	_ privacy.ExportStore     = (*postgres.DB)(nil)
	_ privacy.RetentionStore  = (*postgres.DB)(nil)
	_ privacy.CorrectionStore = (*postgres.DB)(nil)
	_ privacy.EraseRequests   = (*postgres.DB)(nil)
	_ privacy.AuditLog        = (*postgres.DB)(nil)
	_ privacy.RequestCounter  = (*postgres.DB)(nil)
	_ webhook.Store           = (*postgres.DB)(nil)
	_ notify.Store            = (*postgres.DB)(nil)
	_ notify.BreachStore      = (*postgres.DB)(nil)
	_ accounts.Store          = (*postgres.DB)(nil)
)

// The call-end hook takes the webhook's notifier as it is.
var _ = func(db *postgres.DB) { db.NotifyOnCallEnd(webhook.NewNotifier().CallEnded, nil) }

// The notice hook takes the notices' recorder as it is.
var _ = func(db *postgres.DB, n *notify.Notices) { db.NoticeOn(n.Record, nil) }
