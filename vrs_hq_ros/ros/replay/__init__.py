"""Live replay: a bag played into the running node, its outputs recorded and scored."""
