import TocsinCore

/// What one console watches: a traffic status, an owning level (or every level) and an area, turned into the
/// feed's topic prefixes (PROTOCOL.md "Feed": `<status>/<kind>/<level>/<area>.`).
///
/// The contract puts the owning level before the area, so a console watching every level of an area needs one
/// prefix per level and kind; `since` and `active` take one prefix each and are asked once per prefix.
public struct WatchScope: Sendable, Hashable {
    /// `actual`, or `exercise` for drills (`test` is possible but has no flag of its own).
    public var status: Status
    /// The owning level to watch; nil watches street, district and city.
    public var level: Level?
    /// The area: its incidents and everything below it.
    public var area: AreaPath

    public init(status: Status, level: Level?, area: AreaPath) {
        self.status = status
        self.level = level
        self.area = area
    }

    /// The levels watched, highest first.
    public var levels: [Level] { level.map { [$0] } ?? [.city, .district, .street] }

    /// Every topic prefix of this scope: warnings first, then tasks, each level highest first.
    public var prefixes: [String] {
        ["warning", "task"].flatMap { kind in
            levels.map { "\(status.rawValue)/\(kind)/\($0.rawValue)/\(area.rawValue)." }
        }
    }

    /// The prefix of `prefixes` that `topic` starts with, if any.
    public func prefix(of topic: String) -> String? {
        prefixes.first { topic.hasPrefix($0) }
    }

    /// A short human description: `district sz.futian`, `all levels of sz`.
    public var summary: String {
        (level.map { "\($0.rawValue) " } ?? "all levels of ") + area.rawValue
    }
}
