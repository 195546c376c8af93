import ArgumentParser

@main
struct Tocsin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tocsin",
        abstract: "Emergency event pipeline: ingest, incidents, warnings, response plans and drills.",
        subcommands: [RunCommand.self, WorkerCommand.self, DrillCommand.self, PublishCommand.self, ConfigCommand.self, KeysCommand.self, PlansCommand.self, WatchCommand.self]
    )
}
