-- Legacy `/v1` logins counted by phone and day (legacy.rs `login_attempt`): attempts are
-- counted before the date of birth is compared and given back when it matches, so what
-- stays counted is the day's failures, across every API node. Rows of days gone are
-- deleted by every node's tidy.
CREATE TABLE legacy_login_days (
    day bigint NOT NULL,
    phone text NOT NULL,
    attempts bigint NOT NULL,
    PRIMARY KEY (day, phone)
);
