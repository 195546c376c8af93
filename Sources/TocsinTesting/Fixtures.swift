import Foundation
import TocsinConfig
import TocsinCore

/// Paths and loaders for the repository's shipped files, for tests.
public enum Fixtures {
    /// The repository root, found from this source file's location.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var configPath: String { repositoryRoot + "/Config/tocsin.yaml" }
    public static var scenariosPath: String { repositoryRoot + "/Scenarios" }

    /// The shipped configuration, loaded once.
    public static let shippedConfig: TocsinConfiguration = {
        do {
            return try ConfigLoader.load(path: configPath)
        } catch {
            fatalError("the shipped configuration does not load: \(error)")
        }
    }()

    /// A fresh temporary folder, removed by the caller with `removeTemporary`.
    public static func temporaryDirectory(_ prefix: String = "tocsin-test") -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func removeTemporary(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
