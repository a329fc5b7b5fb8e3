"""Tells customers about their parcel: the outbox stream's consumer, the message templates and
the email (SendGrid) and SMS (Amazon SNS) channels, each message sent once per channel."""
