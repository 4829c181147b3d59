-- Login codes counted by the client's address as well as by phone (identity.rs
-- `otp_issue`): the sends from each address in each minute since the epoch. Rows of
-- minutes gone are deleted by every node's tidy.
CREATE TABLE otp_address_minutes (
    minute bigint NOT NULL,
    address text NOT NULL,
    sends bigint NOT NULL,
    PRIMARY KEY (minute, address)
);
