-- Issue 15: calls are closed as "lost" at start when a dead console or engine
-- left them open, and calls the engine turned away (busy, not ready, queue
-- full…) are recorded too. The queue a call came in on is kept (the wrap-up
-- of a lost call and the floor's statistics need it), and end_detail says
-- why a call was turned away, in the engine's words (a reason code).
ALTER TABLE calls ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN end_detail TEXT NOT NULL DEFAULT '';
-- The start-up recovery looks for calls never closed.
CREATE INDEX calls_open ON calls (agent_id) WHERE ended_at IS NULL;
