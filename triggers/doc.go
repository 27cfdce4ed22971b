// Package triggers is the engine of usage triggers: the service that
// creates and manages them, the evaluator that fires them when an account's
// usage reaches a threshold (at most once per period, decided by a unique
// key in the database), and the worker that delivers each firing from the
// outbox to the trigger's callback, signed as Twilio signs webhooks, with
// retries, and never to a private address unless allowed.
package triggers
