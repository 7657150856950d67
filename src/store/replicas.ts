/**
 * The change feed across replicas: every notice a replica's store gives is
 * also sent with PostgreSQL's `NOTIFY`, in the writing transaction (so the
 * others hear it at commit, and never for a rollback), and every replica
 * hands the notices of the others to its own feed. After the listening
 * connection was lost (a database restart) a replica cannot know what it
 * missed, so its feed announces a resync: every cache starts over.
 *
 * @module
 */
import type { ChangeFeed, Notice } from "./changes.ts";
import type { ChangeChannel } from "./postgres_engine.ts";

/** The channel the replicas' change notices travel on. */
export const CHANGES_CHANNEL = "gatehouse_changes";

/** Gateway or session ids per notice: PostgreSQL caps a payload at 8000 bytes. */
const IDS_PER_NOTICE = 100;

/** A notice on the wire: who sent it (a replica ignores its own) and what it says. */
interface Envelope {
  from: string;
  notice: Notice;
}

/**
 * Relays `feed`'s notices to the other replicas over `channel`, as replica
 * `self`, and feeds it theirs; resolves once listening.
 */
export async function linkReplicas(
  feed: ChangeFeed,
  channel: ChangeChannel,
  self: string,
): Promise<void> {
  const send = (notice: Notice) => {
    const payload = JSON.stringify({ from: self, notice } satisfies Envelope);
    // Inside a transaction a failed NOTIFY fails the transaction too: the write and its
    // notice land together. Outside one the write has landed; the others miss this notice.
    channel.notify(CHANGES_CHANNEL, payload).catch((err) =>
      console.error("announcing a change to the other replicas failed:", err)
    );
  };
  feed.relayTo((notice) => {
    if (notice.kind !== "gateways" && notice.kind !== "sessions") return send(notice);
    for (let i = 0; i < notice.ids.length; i += IDS_PER_NOTICE) {
      send({ ...notice, ids: notice.ids.slice(i, i + IDS_PER_NOTICE) });
    }
  });
  let listening = false;
  await channel.listen(
    CHANGES_CHANNEL,
    (payload) => {
      const { from, notice } = JSON.parse(payload) as Envelope;
      if (from !== self) feed.receive(notice);
    },
    () => {
      // The first time nothing was cached yet; every later time follows a lost connection.
      if (listening) feed.resync();
      listening = true;
    },
  );
}
