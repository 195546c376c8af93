import Testing
import TocsinCore
import TocsinWatch

/// The conversation with the command endpoint, driven by hand: the start-up order, repairs, refreshes, key
/// actions and their outcome on the status line, time-outs.
@Suite struct WatchSessionTests {
    static let futian = AreaPath(unchecked: "sz.futian")
    static let warnings = Feed.exercise.prefixes[0], tasks = Feed.exercise.prefixes[1]

    /// Sends what is due at `now` and returns what was asked, with the request's JSON.
    static func next(_ s: inout WatchSession, at now: Double) -> (String, JSONValue)? {
        s.tick(now: now)
        guard let (request, body) = s.nextRequest(now: now) else { return nil }
        return (request.text, (try? JSONValue.parse(body)) ?? .null)
    }

    /// A session that has started at feed position 10 with `active` listing `rows`.
    static func started(rows: [JSONValue] = [], tasks: [JSONValue] = []) -> WatchSession {
        var s = WatchSession(scope: Feed.exercise, by: futian)
        _ = next(&s, at: 0)
        s.handleReply(.success(["ok": true, "seq": 10]), now: 0.01)
        for _ in 0..<2 {
            _ = next(&s, at: 0.02)
            s.handleReply(.success(Feed.since([], last: 10)), now: 0.03)
        }
        _ = next(&s, at: 0.04)
        s.handleReply(.success(Feed.active(warnings: rows)), now: 0.05)
        _ = next(&s, at: 0.06)
        s.handleReply(.success(Feed.active(warnings: [], tasks: tasks)), now: 0.07)
        return s
    }

    @Test func startsWithStatsThenSinceAndActiveForEveryPrefix() throws {
        var s = WatchSession(scope: Feed.exercise, by: Self.futian)
        #expect(s.status(now: 0).connection == .connecting)
        let first = try #require(Self.next(&s, at: 0))
        #expect(first.0 == "stats" && first.1["op"] == "stats")
        #expect(Self.next(&s, at: 0.001) == nil)  // one request in flight at a time
        s.handleReply(.success(["ok": true, "seq": 42]), now: 0.01)
        #expect(s.isStarted)
        #expect(s.status(now: 0.01).connection == .connected)
        var asked: [String] = []
        for i in 0..<4 {
            let (text, json) = try #require(Self.next(&s, at: 0.02 + Double(i)))
            asked.append(text)
            if text.hasPrefix("since") {
                #expect(json["seq"] == 42)  // from the position `stats` gave
                s.handleReply(.success(Feed.since([], last: 43)), now: 0.03 + Double(i))
            } else {
                #expect(json["prefix"]?.stringValue.map { $0 == Self.warnings || $0 == Self.tasks } == true)
                s.handleReply(.success(Feed.active(warnings: [])), now: 0.03 + Double(i))
            }
        }
        #expect(asked == ["since \(Self.warnings)", "since \(Self.tasks)", "active \(Self.warnings)", "active \(Self.tasks)"])
        #expect(s.board.covered[Self.warnings] == 43)
        #expect(Self.next(&s, at: 4.5) == nil)  // nothing more until the refresh
        #expect(Self.next(&s, at: 5.1)?.0 == "since \(Self.warnings)")  // the periodic refresh
    }

    @Test func aLiveGapAsksSinceForItsPrefixAtMostOncePerSecond() throws {
        var s = Self.started()
        s.handleFeed(frames: Feed.frames(Feed.warning("w-1", seq: 15, incident: "inc-1")))
        #expect(s.board.hasGap)
        #expect(Self.next(&s, at: 0.5) == nil)  // the start-up's `since` of this prefix was asked at 0.02
        let (text, json) = try #require(Self.next(&s, at: 1.05))
        #expect(text == "since \(Self.warnings)" && json["seq"] == 10)
        s.handleReply(.success(Feed.since([Feed.warning("w-0", seq: 12, incident: "inc-0")], last: 15)), now: 1.06)
        #expect(!s.board.hasGap)
        #expect(s.board.warnings.count == 2)
        s.handleFeed(frames: Feed.frames(Feed.warning("w-2", seq: 20, incident: "inc-2")))
        #expect(Self.next(&s, at: 1.5) == nil)  // the last repair of this prefix was 0.5 s ago
        let n2_1 = Self.next(&s, at: 2.1)
        #expect(n2_1?.0 == "since \(Self.warnings)")
    }

    @Test func acknowledgingTheSelectedWarningGoesFirstAndShowsWhoAcknowledged() throws {
        var s = Self.started(rows: [Feed.warning("w-5", seq: 5, incident: "inc-5", event: "flood")])
        #expect(s.board.selectedWarning?.id == "w-5")
        let handled = s.handleKey(.acknowledgeWarning)
        #expect(handled)
        #expect(s.status(now: 1).message == "acknowledging w-5 as sz.futian ...")
        s.handleFeed(frames: Feed.frames(Feed.warning("w-1", seq: 15, incident: "inc-1")))  // a repair is due too
        let (text, json) = try #require(Self.next(&s, at: 1.0))
        #expect(text == "ack w-5")
        #expect(json == ["op": "ack", "warning": "w-5", "by": "sz.futian"])
        s.handleReply(.success(["ok": true, "warning": Feed.warning("w-5", seq: 5, incident: "inc-5", acknowledgedBy: "sz.futian")]), now: 1.1)
        let status = s.status(now: 1.1)
        #expect(status.message == "w-5 (flood, sz.futian.shatou) acknowledged by sz.futian")
        #expect(!status.messageIsError)
        #expect(s.board.warnings["inc-5"]?.acknowledgedBy == Self.futian)
    }

    @Test func aRefusalShowsTheEndpointsErrorOnTheStatusLine() throws {
        var s = Self.started(rows: [Feed.warning("w-5", seq: 5, incident: "inc-5")])
        _ = s.handleKey(.acknowledgeWarning)
        _ = Self.next(&s, at: 1)
        s.handleReply(.success(["ok": false, "error": "sz.futian does not own warning w-5 (owner sz)"]), now: 1.1)
        let status = s.status(now: 1.1)
        #expect(status.message == "acknowledging w-5 refused: sz.futian does not own warning w-5 (owner sz)")
        #expect(status.messageIsError)
        // A reply that is not JSON is an error too, never a crash.
        _ = s.handleKey(.acknowledgeWarning)
        _ = Self.next(&s, at: 2)
        s.handleReply(.failure(WatchError("reply from the command endpoint is not JSON: x")), now: 2.1)
        #expect(s.status(now: 2.1).message == "reply from the command endpoint is not JSON: x")
        #expect(s.board.problems == 1)
        let logged = s.takeLogLines()
        #expect(logged == ["command endpoint: reply from the command endpoint is not JSON: x"])
    }

    @Test func stepKeysActOnTheSelectedTaskAndOnlyOnATask() throws {
        var s = Self.started(rows: [Feed.warning("w-5", seq: 5, incident: "inc-5")],
                             tasks: [Feed.task("verify_site", seq: 6, incident: "inc-5")])
        _ = s.handleKey(.stepDone)  // a warning is selected
        #expect(s.status(now: 1).messageIsError)
        #expect(s.status(now: 1).message?.contains("select a step") == true)
        let n1 = Self.next(&s, at: 1)
        #expect(n1 == nil)
        _ = s.handleKey(.down)
        _ = s.handleKey(.acknowledgeWarning)  // a task is selected
        #expect(s.status(now: 1).message?.contains("select a warning") == true)
        _ = s.handleKey(.stepDone)
        let (text, json) = try #require(Self.next(&s, at: 1))
        #expect(text == "step t-inc-5-verify_site done")
        #expect(json == ["op": "step", "task": "t-inc-5-verify_site", "by": "sz.futian", "state": "done"])
        s.handleReply(.success(["ok": true, "task": "t-inc-5-verify_site"]), now: 1.1)
        #expect(s.status(now: 1.1).message == "step t-inc-5-verify_site marked done by sz.futian; the feed confirms it")
        _ = s.handleKey(.acknowledgeStep)
        let n1_2 = Self.next(&s, at: 1.2)
        #expect(n1_2?.1["state"] == "acknowledged")
        let goOn = s.handleKey(.quit)
        #expect(!goOn)
    }

    @Test func aRequestWithoutReplyTimesOutAndIsAskedAgain() throws {
        var s = WatchSession(scope: Feed.exercise, by: Self.futian)
        _ = Self.next(&s, at: 0)
        let early = s.checkTimeout(now: 4.9)
        let late = s.checkTimeout(now: 5.0)
        #expect(!early && late)
        #expect(s.status(now: 12).connection == .noReply(seconds: 12))
        let logged = s.takeLogLines()
        #expect(logged == ["no reply to stats from the command endpoint within 5 s"])
        let n5_0 = Self.next(&s, at: 5.0)
        #expect(n5_0?.0 == "stats")
        s.handleReply(.success(["ok": true, "seq": 0]), now: 5.5)
        #expect(s.status(now: 6).connection == .connected)
        // An action that times out says so.
        var t = Self.started(rows: [Feed.warning("w-5", seq: 5, incident: "inc-5")])
        _ = t.handleKey(.acknowledgeWarning)
        _ = Self.next(&t, at: 1)
        let timedOut = t.checkTimeout(now: 6.5)
        #expect(timedOut)
        #expect(t.status(now: 6.5).message == "no reply to ack w-5 within 5 s; try again")
        #expect(t.status(now: 6.5).messageIsError)
    }
}
