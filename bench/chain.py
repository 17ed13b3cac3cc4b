"""The chain suite (issue #5): gas per LeadNFT minted by `mintBatch`, on an in-process py-evm chain.

One LeadNFT deployment on eth-tester (py-evm, Prague, the committed artifact), minted through
chain/leadnft.py's calldata exactly as the settlement pipeline sends it (`mintBatch(bytes)`, the
sales packed 130 bytes each). Each figure is the batch's receipt gasUsed (the 21,000 transaction
base and the calldata included) divided by the number of sales, for batches of 1, 20 and 50 sales:

- to distinct NEW buyers (no token yet: the token is kept in the buyer's holder slot) or to
  buyers who already hold a token (the token is a 32-bit sale record, eight per storage word);
- every seller new (never sold before) or known (sold in an earlier batch, also to a holder of
  several tokens, so it has its seller index: a seller's first record pays its index once);
- sale ids consecutive in a range already in use (steady state: the contract keeps one bit per
  sale id, 256 per storage slot), plus two sale-id layouts that cost more: the first batch of a
  fresh 256-id range, and ids 256 apart (each sale in its own, already used, bitmap slot; for
  repeat holders also its own fresh record word).

Addresses are derived from a counter (not random), so a run gives the same figures every time
(the seller cache of mintBatch is keyed by address bits: other addresses move the repeat-holder
figure by up to ~110 gas).

No database and no node: nothing here needs the services. Figures are printed only.
"""

from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from bench.common import header
from chain import leadnft
from chain.artifacts import load_artifact

SIZES = (1, 20, 50)
TARGETS = (("new buyers", 28_000), ("buyers already holding a token", 15_000))
REFERENCES = (
    ("OpenZeppelin `_mint` per transaction, new holder", "~71,000"),
    ("OpenZeppelin `_mint` in a loop, new holders", "~48,000"),
    ("previous LeadNFT (packed slot + balance + event), batch of 50", "~56,260"),
    ("LeadNFT before sale records (a whole slot per later token), repeat holders, batch of 50", "~34,290"),
    ("LeadNFT before sale records, new holders, batch of 50", "~29,240"),
    ("LeadNFT with sale records, ABI `Sale[]` calldata (before packing), repeat holders, batch of 50", "~14,991"),
    ("LeadNFT with sale records, ABI `Sale[]` calldata (before packing), new holders, batch of 50", "~28,318"),
)


class _Chain:
    def __init__(self) -> None:
        self.w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
        self.minter = self.w3.eth.accounts[0]
        artifact = load_artifact("LeadNFT")
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = factory.constructor(self.minter, self.w3.eth.accounts[9]).transact({"from": self.minter})
        self.address = self.w3.eth.wait_for_transaction_receipt(tx).contractAddress
        self.next_range = 1  # sale ids are handed out in ranges of 256 (one bitmap slot each)

    def mint(self, items: list[leadnft.MintItem]) -> int:
        tx = self.w3.eth.send_transaction(
            {"from": self.minter, "to": self.address, "gas": 10_000_000, "data": leadnft.mint_batch_calldata(items)}
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        if receipt.status != 1:
            raise RuntimeError("mintBatch reverted")
        return receipt.gasUsed

    def mint_all(self, items: list[leadnft.MintItem]) -> None:
        for k in range(0, len(items), leadnft.MAX_BATCH):
            self.mint(items[k : k + leadnft.MAX_BATCH])

    def fresh_ids(self, n: int, *, spread: bool = False) -> list[int]:
        """`n` unused sale ids: consecutive in a fresh 256-id range, or one per fresh range (spread)."""
        ranges = n if spread else 1
        start = self.next_range * 256
        self.next_range += ranges + 1
        return [start + i * 256 for i in range(n)] if spread else [start + i for i in range(n)]

    def warm(self, sale_ids: list[int]) -> None:
        """Put each sale id's bitmap slot in use (mint the slot's id 255 to a throwaway buyer)."""
        self.mint_all([_item(s, _address(), _address()) for s in sorted({sale_id | 255 for sale_id in sale_ids})])


_ADDRESSES = iter(range(1, 10**9))


def _address() -> str:
    return Account.from_key(keccak(text=f"bench-chain-{next(_ADDRESSES)}")).address


def _item(sale_id: int, buyer: str, seller: str) -> leadnft.MintItem:
    return leadnft.MintItem(
        sale_id=sale_id,
        buyer=buyer,
        seller=seller,
        vertical_id=17,
        price_units=42_500_000,
        quality=83,
        data_hash=keccak(text=f"salt|{sale_id}"),
        bid_log_digest=keccak(text=f"bids|{sale_id}"),
    )


def _scenario(chain: _Chain, size: int, *, new_buyers: bool, new_sellers: bool, ids: str = "used") -> float:
    """Gas per token of one batch of `size` distinct buyers in the given situation."""
    buyers = [_address() for _ in range(size)]
    known_sellers = [_address() for _ in range(5)]
    setup = []
    if not new_buyers:  # every buyer already holds a token (minted earlier)
        setup += [(b, known_sellers[k % 5]) for k, b in enumerate(buyers)]
    if not new_sellers:  # every seller sold before, also to a holder of several tokens (seller indexed)
        veteran = _address()
        setup += [(_address(), s) for s in known_sellers] + [(veteran, s) for s in [known_sellers[0], *known_sellers]]
    if setup:
        setup_ids = chain.fresh_ids(len(setup))
        chain.mint_all([_item(i, b, s) for i, (b, s) in zip(setup_ids, setup)])
    sale_ids = chain.fresh_ids(size, spread=ids == "spread")
    if ids != "fresh":
        chain.warm(sale_ids)
    sellers = [_address() for _ in range(size)] if new_sellers else [known_sellers[k % 5] for k in range(size)]
    items = [_item(i, b, s) for i, b, s in zip(sale_ids, buyers, sellers)]
    return chain.mint(items) / size


ROWS = (
    ("new buyers, known sellers", {"new_buyers": True, "new_sellers": False}),
    ("new buyers, every seller new", {"new_buyers": True, "new_sellers": True}),
    ("buyers already holding a token, known sellers", {"new_buyers": False, "new_sellers": False}),
    ("buyers already holding a token, every seller new", {"new_buyers": False, "new_sellers": True}),
    (
        "new buyers, known sellers, first batch of a fresh 256-id range",
        {"new_buyers": True, "new_sellers": False, "ids": "fresh"},
    ),
    ("new buyers, known sellers, sale ids 256 apart", {"new_buyers": True, "new_sellers": False, "ids": "spread"}),
    (
        "buyers holding a token, known sellers, first batch of a fresh range",
        {"new_buyers": False, "new_sellers": False, "ids": "fresh"},
    ),
    (
        "buyers holding a token, known sellers, sale ids 256 apart",
        {"new_buyers": False, "new_sellers": False, "ids": "spread"},
    ),
)


def run() -> None:
    chain = _Chain()
    chain.mint([_item(i, _address(), _address()) for i in chain.fresh_ids(3)])  # batch counter, role: in use
    print(header("chain: gas per LeadNFT"))
    print(f"{'distinct buyers per batch':<66} " + " ".join(f"{f'batch {n}':>10}" for n in SIZES))
    for name, kwargs in ROWS:
        figures = [_scenario(chain, n, **kwargs) for n in SIZES]
        print(f"{name:<66} " + " ".join(f"{f:>10,.0f}" for f in figures))
    targets = "; ".join(f"{name} ≤ {gas:,}" for name, gas in TARGETS)
    print(f"targets for a batch of 50 (known sellers, ids in use): {targets} gas per token; references:")
    for name, gas in REFERENCES:
        print(f"  {name}: {gas}")
