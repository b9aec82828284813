"""Mail providers at the edge: Microsoft Graph, Gmail and IMAP. Each module verifies its
provider's webhooks, fetches content at consume time and keeps its subscription alive; the
services call them through `protocols.MailSource`."""
