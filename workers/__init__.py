"""FedShield node SDK: the ML task a node runs (data, model, training, attacks) and the wire format."""
