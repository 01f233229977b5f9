"""Each vendor's job service on top of transport/, its descriptor, the registry and the factory."""
