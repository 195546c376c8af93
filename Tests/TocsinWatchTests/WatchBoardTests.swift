import Testing
import TocsinCore
import TocsinWatch

/// The board: the rows it keeps, the order it shows them in, how it stays lossless over `active`, `since` and
/// the live feed, and what it does with bad input.
@Suite struct WatchBoardTests {
    @Test func scopePrefixesFollowTheTopicLayout() {
        let district = WatchScope(status: .exercise, level: .district, area: AreaPath(unchecked: "sz.futian"))
        #expect(district.prefixes == ["exercise/warning/district/sz.futian.", "exercise/task/district/sz.futian."])
        let all = WatchScope(status: .actual, level: nil, area: AreaPath(unchecked: "sz"))
        #expect(all.prefixes == [
            "actual/warning/city/sz.", "actual/warning/district/sz.", "actual/warning/street/sz.",
            "actual/task/city/sz.", "actual/task/district/sz.", "actual/task/street/sz.",
        ])
        // The area's own incidents and those below it, never a sibling whose name starts the same.
        #expect(district.prefix(of: "exercise/warning/district/sz.futian.") != nil)
        #expect(district.prefix(of: "exercise/warning/district/sz.futian.shatou.") != nil)
        #expect(district.prefix(of: "exercise/warning/district/sz.futianbao.") == nil)
        #expect(district.prefix(of: "actual/warning/district/sz.futian.shatou.") == nil)
        #expect(district.prefix(of: "exercise/warning/street/sz.futian.shatou.") == nil)
    }

    @Test func liveMessagesBuildTheRowsAndTheNewestWins() throws {
        var b = Feed.board(at: 0)
        let outcome1 = try b.receive(frames: Feed.frames(Feed.warning("w-1", seq: 1, incident: "inc-1", tier: .iii)))
        #expect(outcome1 == .applied)
        let outcome2 = try b.receive(frames: Feed.frames(Feed.warning("w-2", seq: 2, incident: "inc-1", tier: .ii, msgType: "update")))
        #expect(outcome2 == .applied)
        #expect(b.warnings.count == 1)
        #expect(b.warnings["inc-1"]?.id == "w-2")
        #expect(b.warnings["inc-1"]?.tier == .ii)
        #expect(b.feedSeq == 2)
        #expect(!b.hasGap)
        // The same message again, and an older one, change nothing.
        let outcome3 = try b.receive(frames: Feed.frames(Feed.warning("w-2", seq: 2, incident: "inc-1", tier: .ii)))
        #expect(outcome3 == .stale)
        var c = WatchBoard(scope: Feed.exercise)
        _ = try c.receive(frames: Feed.frames(Feed.warning("w-2", seq: 2, incident: "inc-1", tier: .ii)))
        let outcome4 = try c.receive(frames: Feed.frames(Feed.warning("w-1", seq: 1, incident: "inc-1", tier: .iii)))
        #expect(outcome4 == .stale)
        #expect(c.warnings["inc-1"]?.id == "w-2")
    }

    @Test func cancelsAndFinishedTasksLeaveTheBoardForGood() throws {
        var b = Feed.board(at: 0)
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-1", seq: 1, incident: "inc-1")))
        _ = try b.receive(frames: Feed.frames(Feed.task("verify_site", seq: 2, incident: "inc-1")))
        _ = try b.receive(frames: Feed.frames(Feed.task("report", seq: 3, incident: "inc-1")))
        #expect(b.warnings.count == 1 && b.tasks.count == 2)
        _ = try b.receive(frames: Feed.frames(Feed.task("verify_site", seq: 4, incident: "inc-1", state: .done)))
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-2", seq: 5, incident: "inc-1", msgType: "cancel")))
        _ = try b.receive(frames: Feed.frames(Feed.task("report", seq: 6, incident: "inc-1", state: .cancelled)))
        #expect(b.warnings.isEmpty && b.tasks.isEmpty)
        // A `since` that replays the older messages must not bring them back.
        try b.applySince(prefix: Feed.exercise.prefixes[0], after: 0, reply: Feed.since(
            [Feed.warning("w-1", seq: 1, incident: "inc-1"), Feed.warning("w-2", seq: 5, incident: "inc-1", msgType: "cancel")],
            last: 6))
        try b.applySince(prefix: Feed.exercise.prefixes[1], after: 0, reply: Feed.since(
            [Feed.task("verify_site", seq: 2, incident: "inc-1"), Feed.task("report", seq: 3, incident: "inc-1")], last: 6))
        #expect(b.warnings.isEmpty && b.tasks.isEmpty)
    }

    @Test func aJumpInSeqMakesASinceDueAndItsReplyIsAuthoritative() throws {
        var b = Feed.board(at: 10)
        let warnings = Feed.exercise.prefixes[0], tasks = Feed.exercise.prefixes[1]
        // At start every prefix needs a `since` from the position `stats` gave.
        #expect(b.repairsDue.map(\.prefix) == [warnings, tasks])
        #expect(b.repairsDue.map(\.after) == [10, 10])
        try b.applySince(prefix: warnings, after: 10, reply: Feed.since([], last: 12))
        try b.applySince(prefix: tasks, after: 10, reply: Feed.since([], last: 12))
        #expect(b.repairsDue.isEmpty)
        #expect(b.covered[warnings] == 12)
        // The next message of the prefix extends what is covered; a jump is a possible gap.
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-13", seq: 13, incident: "inc-a")))
        #expect(b.covered[warnings] == 13)
        #expect(b.repairsDue.isEmpty)
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-17", seq: 17, incident: "inc-c")))
        #expect(b.hasGap)
        #expect(b.repairsDue.map(\.prefix) == [warnings])
        #expect(b.repairsDue.first?.after == 13)
        // The repair brings what the live feed lost (seq 15) and repeats what it had (17): applied once.
        try b.applySince(prefix: warnings, after: 13, reply: Feed.since([
            Feed.warning("w-15", seq: 15, incident: "inc-b", tier: .i),
            Feed.warning("w-17", seq: 17, incident: "inc-c"),
        ], last: 18))
        #expect(!b.hasGap)
        #expect(b.covered[warnings] == 18)
        #expect(Set(b.warnings.keys) == ["inc-a", "inc-b", "inc-c"])
        // A live message the repair already delivered is not applied again.
        let outcome5 = try b.receive(frames: Feed.frames(Feed.warning("w-15", seq: 15, incident: "inc-b", tier: .i)))
        #expect(outcome5 == .stale)
        #expect(b.feedSeq == 18)
    }

    @Test func aSinceCutAtTheLimitIsAskedAgainFromItsEnd() throws {
        var b = Feed.board(at: 0)
        #expect(b.sinceLimit == 100_000)  // the dispatch worker's
        b.sinceLimit = 300
        let prefix = Feed.exercise.prefixes[1]
        let bodies = (1...300).map { Feed.task("s\($0 % 7)", seq: $0, incident: "inc-\($0 % 10)") }
        try b.applySince(prefix: prefix, after: 0, reply: Feed.since(bodies, last: 800))
        #expect(b.covered[prefix] == 300)
        #expect(b.repairsDue.contains { $0.prefix == prefix && $0.after == 300 })
        #expect(b.tasks.count == 7 * 10)
        // The rest arrives in a shorter reply: covered up to the feed's end.
        try b.applySince(prefix: prefix, after: 300, reply: Feed.since([Feed.task("s0", seq: 301, incident: "inc-0")], last: 800))
        #expect(b.covered[prefix] == 800)
        #expect(!b.repairsDue.contains { $0.prefix == prefix })
    }

    @Test func activeListsTheRowsAndDropsThoseThatLeftTheScope() throws {
        var b = Feed.board(at: 20)
        let warnings = Feed.exercise.prefixes[0], tasks = Feed.exercise.prefixes[1]
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-3", seq: 3, incident: "inc-1")))
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-9", seq: 9, incident: "inc-2")))
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-25", seq: 25, incident: "inc-3")))
        _ = try b.receive(frames: Feed.frames(Feed.task("verify_site", seq: 4, incident: "inc-1")))
        // inc-2 escalated to the city (another level, outside this scope): `active` no longer lists it.
        try b.applyActive(prefix: warnings, position: 20, reply: Feed.active(warnings: [
            Feed.warning("w-3", seq: 3, incident: "inc-1", acknowledgedBy: "sz.futian"),
            Feed.warning("w-11", seq: 11, incident: "inc-4", tier: .i),
        ]))
        #expect(Set(b.warnings.keys) == ["inc-1", "inc-3", "inc-4"])  // inc-3 is newer than the position: kept
        #expect(b.warnings["inc-1"]?.acknowledgedBy == AreaPath(unchecked: "sz.futian"))
        try b.applyActive(prefix: tasks, position: 20, reply: Feed.active(warnings: [], tasks: []))
        #expect(b.tasks.isEmpty)
        // Without a position (the snapshot), nothing is dropped.
        try b.applyActive(prefix: warnings, position: nil, reply: Feed.active(warnings: []))
        #expect(b.warnings.count == 3)
    }

    @Test func anAcknowledgementIsKeptWhenTheSameMessageComesAgain() throws {
        var b = Feed.board(at: 0)
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-1", seq: 1, incident: "inc-1")))
        let acked = try b.applyAcknowledgement(reply: ["ok": true, "warning": Feed.warning("w-1", seq: 1, incident: "inc-1", acknowledgedBy: "sz.futian")])
        #expect(acked.acknowledgedBy == AreaPath(unchecked: "sz.futian"))
        #expect(b.warnings["inc-1"]?.acknowledgedBy == AreaPath(unchecked: "sz.futian"))
        // `since` replays the stored feed message, which has no acknowledgement: the row keeps it.
        try b.applySince(prefix: Feed.exercise.prefixes[0], after: 0, reply: Feed.since([Feed.warning("w-1", seq: 1, incident: "inc-1")], last: 1))
        #expect(b.warnings["inc-1"]?.acknowledgedBy == AreaPath(unchecked: "sz.futian"))
        // An ack reply for a warning that was superseded meanwhile does not replace the newer row.
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-2", seq: 2, incident: "inc-1", tier: .ii, msgType: "update")))
        _ = try b.applyAcknowledgement(reply: ["ok": true, "warning": Feed.warning("w-1", seq: 1, incident: "inc-1", acknowledgedBy: "sz")])
        #expect(b.warnings["inc-1"]?.id == "w-2")
        #expect(b.warnings["inc-1"]?.acknowledgedBy == nil)
        #expect(throws: WatchError.self) { try b.applyAcknowledgement(reply: ["ok": false, "error": "unknown warning \"w-9\""]) }
    }

    @Test func warningsSortByTierThenNewestAndTasksByTierThenDue() throws {
        var b = Feed.board(at: 0)
        let warnings = [
            Feed.warning("w-1", seq: 1, incident: "inc-old-yellow", tier: .iii, sent: 0),
            Feed.warning("w-2", seq: 2, incident: "inc-red", tier: .i, sent: 10),
            Feed.warning("w-3", seq: 3, incident: "inc-new-yellow", tier: .iii, sent: 120),
            Feed.warning("w-4", seq: 4, incident: "inc-blue", tier: .iv, sent: 300),
        ]
        let tasks = [
            Feed.task("late", seq: 5, incident: "inc-old-yellow", due: 100),
            Feed.task("soon", seq: 6, incident: "inc-red", due: 900),
            Feed.task("first", seq: 7, incident: "inc-red", due: 300),
            Feed.task("unknown", seq: 8, incident: "inc-elsewhere", due: 10),
        ]
        for body in warnings + tasks { _ = try b.receive(frames: Feed.frames(body)) }
        #expect(b.sortedWarnings.map(\.incident) == ["inc-red", "inc-new-yellow", "inc-old-yellow", "inc-blue"])
        #expect(b.sortedTasks.map(\.step) == ["first", "soon", "late", "unknown"])
        #expect(b.rows.first == .warning(incident: "inc-red"))
        #expect(b.rows.last == .task(id: "t-inc-elsewhere-unknown"))
    }

    @Test func theSelectionMovesStopsAtTheEndsAndStaysPutWhenItsRowLeaves() throws {
        var b = Feed.board(at: 0)
        #expect(b.selection == nil)
        b.moveSelection(by: 1)
        #expect(b.selection == nil)
        for (i, tier) in [Tier.i, .ii, .iii].enumerated() {
            _ = try b.receive(frames: Feed.frames(Feed.warning("w-\(i + 1)", seq: i + 1, incident: "inc-\(i + 1)", tier: tier)))
        }
        _ = try b.receive(frames: Feed.frames(Feed.task("verify_site", seq: 4, incident: "inc-1")))
        #expect(b.selection == .warning(incident: "inc-1"))  // the first row until the operator moves
        b.moveSelection(by: -1)
        #expect(b.selection == .warning(incident: "inc-1"))
        b.moveSelection(by: 1)
        #expect(b.selectedWarning?.id == "w-2")
        #expect(b.selectedTask == nil)
        b.moveSelection(by: 10)
        #expect(b.selectedTask?.step == "verify_site")
        #expect(b.selectedWarning == nil)
        b.moveSelection(by: -2)
        #expect(b.selectedWarning?.id == "w-2")
        // A new red warning sorts above: the selection follows its row, not its place.
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-5", seq: 5, incident: "inc-5", tier: .i, sent: 60)))
        #expect(b.selectedWarning?.id == "w-2")
        // Its row leaves (cancel): the row now at its place is selected.
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-6", seq: 6, incident: "inc-2", msgType: "cancel")))
        #expect(b.selectedWarning?.id == "w-3")
    }

    static let badFeedMessages: [(String, [[UInt8]], String)] = [
        ("one frame", [Array("exercise/warning/district/sz.futian.".utf8)], "1 frames"),
        ("not JSON", [Array("exercise/warning/district/sz.futian.".utf8), Array("{nope".utf8)], "not JSON"),
        ("no seq", [Array("exercise/warning/district/sz.futian.".utf8), Array(#"{"id":"w-1"}"#.utf8)], "seq"),
        ("bad tier", Feed.frames(Feed.warning("w-1", seq: 2, incident: "inc-1").replacing("tier", with: "V")), "tier"),
        ("not a task", [Array("exercise/task/district/sz.futian.".utf8), Array(#"{"seq":3,"id":"t-1"}"#.utf8)], "t-1"),
    ]

    @Test(arguments: badFeedMessages.indices)
    func badFeedInputIsCountedAndNamedNeverFatal(_ i: Int) throws {
        let (_, frames, fragment) = Self.badFeedMessages[i]
        var b = Feed.board(at: 0)
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-0", seq: 1, incident: "inc-0")))
        do {
            _ = try b.receive(frames: frames)
            Issue.record("accepted a bad feed message")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
        #expect(b.problems == 1)
        #expect(b.lastProblem?.contains(fragment) == true)
        #expect(b.warnings.count == 1)  // what was there stays
        // Topics outside the scope are not problems: the SUB filter normally keeps them out.
        let outcome6 = try b.receive(frames: [Array("actual/warning/district/sz.futian.".utf8), Array("{}".utf8)])
        #expect(outcome6 == .outOfScope)
        #expect(b.problems == 1)
    }

    @Test func aRefusedReplyIsAnErrorWithTheEndpointsReason() {
        var b = Feed.board(at: 0)
        #expect(throws: WatchError("since refused: seq: must be 0 or more")) {
            try b.applySince(prefix: Feed.exercise.prefixes[0], after: 0, reply: ["ok": false, "error": "seq: must be 0 or more"])
        }
        #expect(throws: WatchError.self) { try b.applyActive(prefix: Feed.exercise.prefixes[0], position: 0, reply: ["ok": true]) }
    }
}

extension JSONValue {
    /// The object with `key` set to the string `value`.
    func replacing(_ key: String, with value: String) -> JSONValue {
        guard case .object(var o) = self else { return self }
        o[key] = .string(value)
        return .object(o)
    }
}
