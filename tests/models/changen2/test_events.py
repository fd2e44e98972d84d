import numpy as np
import pytest
from scipy import ndimage

from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import BUILDING
from terrasynth.models.changen2 import (
    BUILDING_EVENTS,
    WORLDCOVER_EVENTS,
    WORLDCOVER_TRANSITIONS,
    ChangeEvents,
    add_objects,
    change_mask,
    class_boundaries,
    find_components,
    next_time_contour,
    remove_objects,
    simulate_changes,
    transition,
    uniform_transitions,
)
from terrasynth.models.changen2.components import EIGHT_CONNECTED

GSD = 1.0  # metres per mask pixel: the change events leave components of 32 m² = 32 px alone


def _small_component_pixels(mask, classes=None, limit=64):
    """Pixels of the components of ``limit`` px or fewer (of ``classes``, or all)."""
    small = np.zeros(mask.shape, bool)
    for label in np.unique(mask) if classes is None else classes:
        labelled, _ = ndimage.label(mask == label, structure=EIGHT_CONNECTED)
        sizes = np.bincount(labelled.ravel())
        small |= (labelled > 0) & (sizes[labelled] <= limit)
    return small


@pytest.mark.parametrize("kind", ["buildings", "landcover"])
def test_change_mask_is_where_classes_differ(make_masks, kind):
    mask = make_masks.building_mask() if kind == "buildings" else make_masks.landcover_mask()
    events = BUILDING_EVENTS if kind == "buildings" else WORLDCOVER_EVENTS
    sequence = simulate_changes(mask, 5, events, 3, gsd=GSD)
    assert sequence.masks.shape == sequence.changes.shape == sequence.boundaries.shape == (5, 128, 128)
    assert np.array_equal(sequence.masks[0], mask) and not sequence.changes[0].any()
    for t in range(1, 5):
        before, after = sequence.masks[t - 1], sequence.masks[t]
        assert np.array_equal(sequence.changes[t], before != after)
        assert sequence.changes[t].any()
        # the contour rule: the change mask is already open (no one-pixel slivers left)
        assert np.array_equal(change_mask(before, after), sequence.changes[t])
        assert np.array_equal(sequence.boundaries[t], next_time_contour(before, after)[1])


def test_added_objects_do_not_overlap(make_masks):
    # every building its own class: a copy that overlapped anything, itself included, would show
    instances, _ = ndimage.label(make_masks.building_mask(), structure=EIGHT_CONNECTED)
    out = add_objects(instances, 5, np.random.default_rng(0))
    new = out != instances
    assert (instances[new] == 0).all()
    added = np.unique(out[new])
    assert len(added) == 5
    for label in added:
        assert (out == label).sum() == 2 * (instances == label).sum()

    landcover = make_masks.landcover_mask()
    out = add_objects(landcover, 4, np.random.default_rng(1), object_classes=[50])
    new = out != landcover
    assert new.any() and (landcover[new] != 50).all() and (out[new] == 50).all()


def test_added_object_copies_a_shape():
    mask = np.zeros((64, 64), np.uint8)
    mask[5:15, 5:15] = 1
    mask[10, 15:20] = 1  # an L-shaped building of 105 px
    out = add_objects(mask, 1, np.random.default_rng(2))
    rows, cols = np.nonzero(out != mask)
    placed = np.zeros_like(mask)
    placed[rows - rows.min(), cols - cols.min()] = 1
    source = mask[5:15, 5:20]
    assert np.array_equal(placed[: source.shape[0], : source.shape[1]], source)


def test_full_image_leaves_no_room_for_an_object():
    mask = np.ones((32, 32), np.uint8)
    assert np.array_equal(add_objects(mask, 3, np.random.default_rng(0)), mask)


def test_remove_objects_clears_whole_large_objects(make_masks):
    mask = make_masks.building_mask()
    large = find_components(mask, [1])
    out = remove_objects(mask, 2, np.random.default_rng(0), fill=0)
    gone = [c for c in large if (out[c.rows, c.cols] == 0).all()]
    assert len(gone) == 2 and (out[mask != out] == 0).all()
    assert (out != mask).sum() == sum(c.area for c in gone)
    assert np.array_equal(
        remove_objects(mask, 99, np.random.default_rng(0)) == 1, _small_component_pixels(mask)
    )


def test_transitions_follow_the_kernel(make_masks):
    mask = make_masks.landcover_mask()
    out = transition(mask, WORLDCOVER_TRANSITIONS, 1.0, np.random.default_rng(0))
    changed = out != mask
    for before, after in set(zip(mask[changed].tolist(), out[changed].tolist(), strict=True)):
        assert after in WORLDCOVER_TRANSITIONS[before]
    # with p = 1 every large component of a kernel class moves, as a whole; buildings are not in
    # the kernel (they are only built and demolished)
    for component in find_components(mask, WORLDCOVER_TRANSITIONS):
        assert len(np.unique(out[component.rows, component.cols])) == 1
        assert out[component.rows[0], component.cols[0]] != component.label
    assert np.array_equal(~changed, _small_component_pixels(mask) | (mask == BUILDING))
    assert np.array_equal(transition(mask, WORLDCOVER_TRANSITIONS, 0.0, np.random.default_rng(0)), mask)
    assert np.array_equal(
        transition(mask, {80: (60,)}, 1.0, np.random.default_rng(0))[mask != 80], mask[mask != 80]
    )


def test_transition_probability():
    # 400 separate 9 x 9 squares of class 1 on class 0: about 30% of them move to class 2
    mask = np.zeros((400, 400), np.uint8)
    mask[
        np.add.outer(np.arange(0, 400, 20), np.arange(9)).ravel()[:, None],
        np.add.outer(np.arange(0, 400, 20), np.arange(9)).ravel(),
    ] = 1
    out = transition(mask, {1: (2,)}, 0.3, np.random.default_rng(0))
    moved = (out == 2).sum() / 81 / 400
    assert 0.25 < moved < 0.35 and set(np.unique(out)) == {0, 1, 2}


def test_small_components_untouched(make_masks):
    # each step leaves the small components of the previous date alone (a later step may see one
    # grown into a large component, when a neighbour turned into its class)
    landcover = make_masks.landcover_mask()
    no_additions = ChangeEvents(
        add=(0, 0),
        remove=(3, 3),
        kernel=WORLDCOVER_TRANSITIONS,
        transition_p=1.0,
        object_classes=(BUILDING,),
        fill=60,
    )
    sequence = simulate_changes(landcover, 4, no_additions, 0, gsd=GSD)
    assert sequence.changes[1:].any(axis=(1, 2)).all()
    for before, after in zip(sequence.masks[:-1], sequence.masks[1:], strict=True):
        small = _small_component_pixels(before, limit=32)
        assert small.any() and np.array_equal(after[small], before[small])

    buildings = make_masks.building_mask()
    sequence = simulate_changes(buildings, 4, ChangeEvents(add=(5, 5), remove=(5, 5)), 0, gsd=GSD)
    for before, after in zip(sequence.masks[:-1], sequence.masks[1:], strict=True):
        specks = _small_component_pixels(before, [1], limit=32)
        assert specks.any() and (after[specks] == 1).all()


def test_same_seed_same_sequence(make_masks):
    mask = make_masks.landcover_mask()
    first = simulate_changes(mask, 4, WORLDCOVER_EVENTS, 7, gsd=GSD)
    again = simulate_changes(mask, 4, WORLDCOVER_EVENTS, np.random.default_rng(7), gsd=GSD)
    other = simulate_changes(mask, 4, WORLDCOVER_EVENTS, 8, gsd=GSD)
    assert np.array_equal(first.masks, again.masks) and np.array_equal(first.boundaries, again.boundaries)
    assert not np.array_equal(first.masks, other.masks)
    rng = np.random.default_rng(7)
    assert not np.array_equal(
        simulate_changes(mask, 4, WORLDCOVER_EVENTS, rng, gsd=GSD).masks,
        simulate_changes(mask, 4, WORLDCOVER_EVENTS, rng, gsd=GSD).masks,
    )


def test_next_time_contour():
    before = np.zeros((40, 40), np.uint8)
    before[5:15, 5:15] = 1
    before[5:15, 15:25] = 2  # touching the first: their shared border is a boundary
    before[25:35, 25:35] = 1
    after = before.copy()
    after[25:35, 25:35] = 0  # demolished
    after[0, :] = 3  # a one-pixel sliver: dropped by the opening
    change, boundary = next_time_contour(before, after)
    assert change[25:35, 25:35].all() and change.sum() == 100
    assert not boundary[24:36, 24:36].any()
    assert np.array_equal(boundary[:20], class_boundaries(before)[:20])
    assert boundary[10, 14] and boundary[10, 15]


def test_a_new_object_is_drawn_with_its_outline():
    before = np.zeros((40, 40), np.uint8)
    before[5:15, 5:15] = 1
    after = before.copy()
    after[22:32, 22:32] = 1  # built
    change, boundary = next_time_contour(before, after)
    assert change.sum() == 100
    assert np.array_equal(boundary, class_boundaries(after))  # the new building's outline included
    assert boundary[22, 25] and boundary[21, 25] and not boundary[26, 26]


def test_change_at_the_image_edge_is_kept():
    before = np.zeros((20, 20), np.uint8)
    after = before.copy()
    after[:4, :4] = 1
    assert change_mask(before, after).sum() == 16


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="remove"):
        ChangeEvents(remove=(3, 1))
    with pytest.raises(ConfigError, match="transition_p"):
        ChangeEvents(transition_p=1.5)
    with pytest.raises(ConfigError, match="kernel"):
        ChangeEvents(kernel={1: ()})
    with pytest.raises(ConfigError, match="integer mask"):
        simulate_changes(np.zeros((4, 4)), 2, BUILDING_EVENTS, 0, gsd=GSD)
    with pytest.raises(ConfigError, match="metres per pixel"):
        simulate_changes(np.zeros((4, 4), np.uint8), 2, BUILDING_EVENTS, 0, gsd=0)


def test_buildings_are_built_on_open_ground_and_demolished_to_bare_ground(make_masks):
    landcover = make_masks.landcover_mask()
    sequence = simulate_changes(landcover, 6, WORLDCOVER_EVENTS, 4, gsd=GSD)
    built = removed = 0
    for before, after in zip(sequence.masks[:-1], sequence.masks[1:], strict=True):
        new = (after == BUILDING) & (before != BUILDING)
        gone = (before == BUILDING) & (after != BUILDING)
        assert np.isin(before[new], WORLDCOVER_EVENTS.ground).all()  # never on water, trees or roads
        assert (after[gone] == 60).all()
        built, removed = built + new.sum(), removed + gone.sum()
    assert built and removed


def test_small_objects_are_measured_in_square_metres():
    # one 6 x 6 px building: 36 m² at 1 m (an object), 9 m² at 0.5 m (a speck events leave alone)
    mask = np.zeros((40, 40), np.uint8)
    mask[10:16, 10:16] = 1
    events = ChangeEvents(add=(0, 0), remove=(1, 1))
    assert not simulate_changes(mask, 2, events, 0, gsd=1.0).masks[1].any()
    assert np.array_equal(simulate_changes(mask, 2, events, 0, gsd=0.5).masks[1], mask)
    assert events.small_pixels(4.0) == 2 and events.small_pixels(0.5) == 128


def test_uniform_transitions():
    assert uniform_transitions([3, 1, 2]) == {1: (2, 3), 2: (1, 3), 3: (1, 2)}
    assert uniform_transitions([1]) == {}
