-- The dev SMS outbox read for one recipient (`GET /api/v1/dev/outbox?phone=`): a login's
-- code found among its own messages, however many went out to others meanwhile.
CREATE INDEX sms_outbox_to ON sms_outbox (to_phone, seq);
