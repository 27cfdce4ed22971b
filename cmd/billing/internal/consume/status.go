package consume

import (
	"context"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// Status is the durable consumer's state as the server keeps it.
type Status struct {
	Stream, Durable   string
	StreamMessages    uint64
	Pending           uint64 // not yet delivered
	AckPending        int    // delivered, not yet acknowledged
	Redelivered       int    // delivered more than once, not yet acknowledged
	AckFloorStreamSeq uint64 // every message up to here is acknowledged
	DeadLetters       uint64 // messages in the dead-letter stream
}

// ReadStatus asks the server for the consumer's and the streams' state.
func ReadStatus(ctx context.Context, js jetstream.JetStream, cfg Config) (Status, error) {
	cfg = cfg.withDefaults()
	st := Status{Stream: cfg.Stream, Durable: cfg.Durable}
	s, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		return st, fmt.Errorf("stream %s: %w", cfg.Stream, err)
	}
	si, err := s.Info(ctx)
	if err != nil {
		return st, err
	}
	st.StreamMessages = si.State.Msgs
	cons, err := s.Consumer(ctx, cfg.Durable)
	if err != nil {
		return st, fmt.Errorf("consumer %s: %w", cfg.Durable, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return st, err
	}
	st.Pending, st.AckPending, st.Redelivered, st.AckFloorStreamSeq = ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.AckFloor.Stream
	dl, err := js.Stream(ctx, DeadLetterStream)
	if err != nil {
		return st, fmt.Errorf("stream %s: %w", DeadLetterStream, err)
	}
	di, err := dl.Info(ctx)
	if err != nil {
		return st, err
	}
	st.DeadLetters = di.State.Msgs
	return st, nil
}

// Print writes the status for people.
func (s Status) Print(w io.Writer) {
	fmt.Fprintf(w, "stream %s: %d messages\n", s.Stream, s.StreamMessages)
	fmt.Fprintf(w, "consumer %s: %d pending, %d awaiting acknowledgement, %d redelivered, ack floor at stream sequence %d\n",
		s.Durable, s.Pending, s.AckPending, s.Redelivered, s.AckFloorStreamSeq)
	fmt.Fprintf(w, "dead letters (%s): %d\n", DeadLetterStream, s.DeadLetters)
}
