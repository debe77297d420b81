"""The network: a KAN layer, the KAN model, and the lineage (events, versions, the one door for changes)."""
