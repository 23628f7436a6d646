// A consumer group as the broker sees it: state and each member's assigned partitions (kafkajs admin).
import { AssignerProtocol, Kafka, logLevel } from "kafkajs";

export interface GroupView {
  state: string;
  /** Partitions of `topic` assigned to each member, by member id. */
  members: Map<string, number[]>;
}

export async function describeGroup(bootstrap: string, groupId: string, topic: string): Promise<GroupView> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0];
    const members = new Map<string, number[]>();
    for (const m of g?.members ?? []) {
      const a = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      members.set(
        m.memberId,
        [...(a?.assignment[topic] ?? [])].sort((x, y) => x - y),
      );
    }
    return { state: g?.state ?? "Unknown", members };
  } finally {
    await admin.disconnect();
  }
}
