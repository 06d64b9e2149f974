-- Two costs every workflow step paid for nothing.
--
-- The blob hash check without a regular expression: '^[0-9a-f]{64}$' cost about 7 µs a row here,
-- a noticeable part of every step's output write. Decoding and re-encoding the hex costs about a
-- third of that and accepts exactly the same strings (decode rejects a non-hex digit with an
-- error; the round trip rejects upper case). NOT VALID + VALIDATE: the old rows are checked
-- without blocking writes for the length of a scan.
ALTER TABLE kronos_blobs DROP CONSTRAINT kronos_blobs_hash_check;
ALTER TABLE kronos_blobs ADD CONSTRAINT kronos_blobs_hash_check
  CHECK (length(hash) = 64 AND encode(decode(hash, 'hex'), 'hex') = hash) NOT VALID;
ALTER TABLE kronos_blobs VALIDATE CONSTRAINT kronos_blobs_hash_check;

-- No statement looks steps up by job (cancel and retention go by run), but the index made every
-- step row insert write a second index entry and every "scheduled" update a non-HOT one.
DROP INDEX kronos_steps_job;
