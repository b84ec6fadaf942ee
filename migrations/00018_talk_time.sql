-- +goose Up
-- The calls list's chart shows talk time per speaker per day. Summed from the segments
-- it read every segment of the period: 18 s for a month of 100,000 calls. A transcript
-- now carries its talk time per channel (talk_ms[1] is channel 0's milliseconds, a
-- channel that never spoke has 0), written with the transcript by the worker; segments
-- keep their times for good (a correction changes text and speaker, never times), so
-- the chart reads one row per call.
ALTER TABLE transcripts ADD COLUMN talk_ms bigint[];
UPDATE transcripts t SET talk_ms = a.talk
FROM (SELECT m.transcript_id, array_agg(coalesce(p.ms, 0) ORDER BY g.ch) AS talk
      FROM (SELECT transcript_id, max(channel) AS top FROM segments GROUP BY transcript_id) m
      CROSS JOIN LATERAL generate_series(0, m.top) AS g(ch)
      LEFT JOIN (SELECT transcript_id, channel, sum(end_ms - start_ms) AS ms FROM segments
                 GROUP BY transcript_id, channel) p ON p.transcript_id = m.transcript_id AND p.channel = g.ch
      GROUP BY m.transcript_id) a
WHERE a.transcript_id = t.id;

-- +goose Down
ALTER TABLE transcripts DROP COLUMN talk_ms;
